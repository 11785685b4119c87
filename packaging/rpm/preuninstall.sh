# stamp: stop the daemons on erase ($1 = 0), not on upgrade.
if [ "$1" = 0 ] && [ -d /run/systemd/system ]; then
    systemctl stop stamp-mta.service stamp-bounced.service >/dev/null 2>&1 || true
fi
exit 0
