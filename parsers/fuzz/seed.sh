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

seed web_error <<'L'
[Thu Nov 26 09:15:02.481516 2026] [proxy_fcgi:error] [pid 4242:tid 139912] [client 198.51.100.20:51234] AH01071: Got error 'Primary script unknown'
L
seed web_error <<'L'
[Thu Nov 26 09:15:02 2026] [error] [client 10.20.30.40] File does not exist: /srv/www/robots.txt
L
seed web_error <<'L'
[Thu Nov 26 09:15:02.000001 2026] [rewrite:trace3] [pid 7] mod_rewrite.c(470): [client 10.0.0.9:443] applying pattern '^/old' to uri '/new'
L
seed web_error <<'L'
[Thu Nov 26 09:15:02 2026] [notice] (13)Permission denied: [client 10.0.0.9] could not open /srv/x
L
seed web_error <<'L'
2026/11/26 09:15:02 [error] 2211#2211: *8123 open() "/srv/www/favicon.ico" failed (2: No such file or directory), client: 203.0.113.5, server: intra.example, request: "GET /favicon.ico HTTP/1.1"
L
seed web_error <<'L'
2026/11/26 09:15:02 [warn] 2211#0: conflicting server name "intra.example" on 0.0.0.0:80, ignored
L

seed auditd <<'L'
type=EXECVE msg=audit(1795680000.123:4711): argc=3 a0="wget" a1="-q" a2=687474703A2F2F6578616D706C652E696E76616C69642F61
L
seed auditd <<'L'
type=USER_AUTH msg=audit(1795680001.500:4712): pid=3100 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct="backup" exe="/usr/sbin/sshd" hostname=? addr=192.0.2.44 terminal=ssh res=failed'
L
seed auditd <<'L'
type=AVC msg=audit(1795680002.001:4713): avc:  denied  { write } for  pid=77 comm="httpd" name="cache" permissive=0
L
seed auditd <<'L'
type=PROCTITLE msg=audit(1795680000.123:4711): proctitle=77676574002D71
L
mkdir -p corpus/auditd
n=$((n + 1))
printf 'node=app07 type=SYSCALL msg=audit(1795680000.123:4711): arch=c000003e syscall=59 success=yes exit=0 a0=7ffd a1=5600 ppid=1 pid=3101 auid=1001 uid=1001 comm="wget" exe="/usr/bin/wget" key=(null)\035ARCH=x86_64 SYSCALL=execve' > "corpus/auditd/seed-$n"

seed java <<'L'
2026-11-26 09:15:02,481 ERROR [worker-3] dk.example.invoice.Sender - delivery failed: timeout
L
seed java <<'L'
2026-11-26T09:15:02.481+01:00 [main] WARN  dk.example.App - slow start
L
seed java <<'L'
2026-11-26 09:15:02,481 INFO  [dk.example.jms.Listener] (Thread-7 (pool-2)) QUEUE0001: consumer up
L
seed java <<'L'
26/11/26 09:15:02 INFO scheduler.TaskRunner: task 4 done
L
seed java <<'L'
26-Nov-2026 09:15:02.481 SEVERE [http-nio-8080-exec-1] org.example.web.Filter.doFilter boom
L
seed java <<'L'
2026-11-26 09:15:02,481 [myid:3] - WARN  [Sync:Peer@911] - lagging follower
L
seed java <<'L'
[2026-11-26 09:15:02,481] INFO [Broker id=1] Started (kafka.server.ExampleServer)
L
seed java <<'L'
ERROR [ReadStage-2] 2026-11-26 09:15:02,481 Worker.java:120 - read failed
L
seed java <<'L'
2026-11-26 09:15:02,481 ERROR [main] dk.example.Boot - startup failed
java.lang.IllegalStateException: no config
	at dk.example.Boot.main(Boot.java:12)
Caused by: java.io.FileNotFoundException: /etc/app.conf
	... 1 more
L
seed java <<'L'
Exception in thread "main" dk.example.FatalError: gone
L

seed kv <<'L'
ts=2026-11-26T09:15:02Z level=info msg="user logged in" user=bob duration=12ms
L
seed kv <<'L'
level=error	err="read \"x\": \\ broken\n" retry=
L
seed kv <<'L'
junk words a=1 =2 b="unterminated
L
seed kv <<'L'
k="v"glued next=1
L

seed log_format <<'L'
%h %l %u %t "%r" %>s %b %D
192.0.2.1 - - [26/Nov/2026:09:15:02 +0100] "GET /a?b=1 HTTP/1.1" 200 512 1234
L
seed log_format <<'L'
$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time
192.0.2.1 - bob [26/Nov/2026:09:15:02 +0100] "POST /api HTTP/2.0" 201 0 "-" "curl/8" 0.004
L
seed log_format <<'L'
%v %{sec}t %m %U%q %H %>s %{ms}T "%{User-Agent}i"
intra.example 1795680000 GET /search?q=x HTTP/1.1 404 17 "agent \"q\""
L
seed log_format <<'L'
${host} $msec $time_iso8601 $request_uri$is_args$args $upstream_addr
intra.example 1795680000.123 2026-11-26T09:15:02+01:00 /p?x=1 10.0.0.1:8080
L
seed log_format <<'L'
%h %{usec}t %{Foo}i %Z
x
L

seed time <<'L'
26/Nov/2026:09:15:02 +0100
L
seed time <<'L'
2026-11-26T09:15:02.123456789+01:00
L
seed time <<'L'
Nov  6 09:15:02.123
L
seed time <<'L'
Feb 29 2028 23:59:60
L
seed time <<'L'
Thu Nov 26 09:15:02.481516 2026
L
seed time <<'L'
2026/11/26 09:15:02
L
seed time <<'L'
26/11/26 09:15:02.5
L
seed time <<'L'
26-Nov-2026 09:15:02.481
L

for t in corpus/*; do echo "seeded: $(ls "$t" | wc -l) ${t#corpus/}"; done
