# logferry .rpm %pre: the service user (no login shell, home /var/lib/logferry), before its files land.
getent group logferry >/dev/null || groupadd --system logferry
getent passwd logferry >/dev/null || useradd --system --gid logferry --home-dir /var/lib/logferry \
    --no-create-home --shell /usr/sbin/nologin --comment "logferry log agent" logferry
exit 0
