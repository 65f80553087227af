#!/bin/sh
# Writes the seed corpora (corpus/<target>/, gitignored) from our own fixture lines: the shapes the
# unit tests use, nothing copied from real logs. Run from anywhere: `sh parsers/fuzz/seed.sh`.
set -eu
cd "$(dirname "$0")"

n=0
# seed TARGET: stdin (without its final newline) becomes one corpus file of TARGET.
seed() {
    mkdir -p "corpus/$1"
    n=$((n + 1))
    printf '%s' "$(cat)" > "corpus/$1/seed-$n"
}

seed access <<'L'
83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"
L
seed access <<'L'
::1 - frank [26/Dec/2016:16:16:29 +0200] "GET /favicon.ico HTTP/1.1" 404 -
L
seed access <<'L'
2001:db8::7 - - [26/Nov/2026:09:15:00 +0100] "POST /api/v1/search?q=a%20b&x=1 HTTP/2.0" 503 1532 "-" "curl/8.5 \"test\" agent"
L
seed access <<'L'
vhost1.domaine.fr:443 192.168.33.2 - - [26/Dec/2016:16:22:14 +0000] "GET /hello HTTP/1.1" 301 499 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:50.0) Gecko/20100101 Firefox/50.0"
L
seed access <<'L'
203.0.113.9 - - [26/Nov/2026:03:01:02 +0100] "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" 400 226 "-" "-"
L
seed access <<'L'
10.1.2.3 - alice [26/Nov/2026:10:11:12 -0500] "-" 408 0 "-" "-" 1234 "extra field"
L

seed syslog <<'L'
Feb 21 21:54:44 app03 sshd[3402]: Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33:99:e9:a0:dc:f2:33:a3:e5:72:3b:7c:3a:56:84
L
seed syslog <<'L'
Nov 26 08:00:01 app03 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart wildfly
L
seed syslog <<'L'
Dec  1 23:59:59 app03 kernel: [12345.678] eth0: link down
L
seed syslog <<'L'
<165>1 2026-11-26T10:11:12.345678+01:00 kvantum-int01 invoice-flow 4711 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] Faktura 88123 godkendt af bruger jdoe
L
seed syslog <<'L'
<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8
L
seed syslog <<'L'
<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\"lic\]ation" eventID="1011"][examplePriority@32473 class="high"]
L
seed syslog <<'L'
2026-11-26T10:11:12.345678+01:00 host prog(pam_unix)[12]: msg
L
mkdir -p corpus/syslog
n=$((n + 1))
printf '<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \357\273\277%s' "'su root' failed for lonvick on /dev/pts/8" > "corpus/syslog/seed-$n"

seed syslog_programs <<'L'
Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33:99:e9
L
seed syslog_programs <<'L'
Failed none for invalid user x from 198.51.100.7 port 50000 ssh2
L
seed syslog_programs <<'L'
Connection closed by authenticating user root 1.2.3.4 port 22 [preauth]
L
seed syslog_programs <<'L'
Received disconnect from 9.9.9.9 port 53: 11: Bye Bye [preauth]
L
seed syslog_programs <<'L'
pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root
L
seed syslog_programs <<'L'
message repeated 2 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]
L
seed syslog_programs <<'L'
deploy : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/ls
L
seed syslog_programs <<'L'
FAILED SU (to root) deploy on pts/1
L
seed syslog_programs <<'L'
+ /dev/pts/0 ubuntu:root
L
seed syslog_programs <<'L'
https://www.kk.dk|1795683600|user|10.1.1.1|https://www.kk.dk/user/login|https://www.kk.dk/|0||Login attempt failed for jdoe.
L
seed syslog_programs <<'L'
http://[::1]:8080|1795683601|php|192.0.2.4|/node/1|||<a href="/node/1">view</a>|Warning: a | b in x.php
L
echo "seeded: $(ls corpus/access | wc -l) access, $(ls corpus/syslog | wc -l) syslog, $(ls corpus/syslog_programs | wc -l) syslog_programs"
