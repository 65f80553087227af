#!/usr/bin/env python3
"""Deterministic syslog messages for the ingest benchmark, one per line (LF framing).

A mix like a relay's: RFC 3164 sshd/sudo/cron lines and RFC 5424 application lines, from 200
hosts. Usage: gen_syslog.py N OUT [--seed S]
"""
import random
import sys


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    seed = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--seed" else 1
    rng = random.Random(seed)
    users = ["alice", "bob", "carol", "dave", "erin", "frank", "root", "admin"]
    with open(out, "w") as f:
        for i in range(n):
            host = f"host{rng.randrange(200):03d}"
            sec = i % 60
            ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            user = rng.choice(users)
            kind = rng.randrange(5)
            if kind == 0:
                line = f"<38>Dec  3 10:00:{sec:02d} {host} sshd[{1000 + i % 5000}]: Accepted publickey for {user} from {ip} port {1024 + i % 60000} ssh2: ED25519 SHA256:abcdefghijklmnop"
            elif kind == 1:
                line = f"<38>Dec  3 10:00:{sec:02d} {host} sshd[{1000 + i % 5000}]: Failed password for invalid user {user} from {ip} port {1024 + i % 60000} ssh2"
            elif kind == 2:
                line = f"<85>Dec  3 10:00:{sec:02d} {host} sudo:    {user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"
            elif kind == 3:
                line = f"<78>Dec  3 10:00:{sec:02d} {host} CRON[{2000 + i % 9000}]: ({user}) CMD (/usr/local/bin/backup.sh --incremental)"
            else:
                line = f"<134>1 2026-12-03T10:00:{sec:02d}.{i % 1000:03d}Z {host} billing {3000 + i % 7000} INV - [meta sequenceId=\"{i}\"] invoice {i} paid by customer {rng.randrange(100000)}"
            f.write(line + "\n")


if __name__ == "__main__":
    main()
