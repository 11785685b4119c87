# stamp: the `stamp` system user before the files that belong to it.
getent group stamp >/dev/null || groupadd -r stamp
getent passwd stamp >/dev/null || useradd -r -g stamp -d /var/lib/stamp -s /sbin/nologin -c "stamp mail transfer agent" stamp
exit 0
