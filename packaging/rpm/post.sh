# logferry .rpm %post ($1 = 1 on install, 2 on upgrade): the data directory, daemon-reload, and on
# first install enable without starting (the default configuration's collector is a placeholder).
install -d -m 0750 -o logferry -g logferry /var/lib/logferry
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ]; then
    systemctl enable logferry.service >/dev/null 2>&1 || :
fi
exit 0
