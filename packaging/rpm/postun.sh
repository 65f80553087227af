# logferry .rpm %postun ($1 = 0 on erase, 1 on upgrade): daemon-reload; on upgrade restart the service
# if it was running. The checkpoints in /var/lib/logferry and the logferry user are kept on erase
# (RPM has no purge); a changed /etc/logferry/logferry.toml is kept as logferry.toml.rpmsave.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart logferry.service >/dev/null 2>&1 || :
    fi
fi
exit 0
