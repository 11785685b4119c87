# stamp: spool and state directories owned by `stamp`; /etc/stamp readable by it.
install -d -o stamp -g stamp -m 0750 /var/spool/stamp /var/lib/stamp
chgrp stamp /etc/stamp /etc/stamp/tenants.d /etc/stamp/stamp-mta.yaml /etc/stamp/stamp-bounced.yaml
chmod 0750 /etc/stamp /etc/stamp/tenants.d
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
exit 0
