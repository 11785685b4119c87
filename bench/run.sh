#!/usr/bin/env bash
# Throughput benchmark: stamp-mta against a private Postfix instance, same load.
#
#   bash bench/run.sh [N] [C] [SIZE]     (as root; defaults 20000 messages, 20 sessions, 4096 bytes)
#
# Postfix's smtp-source injects N messages of SIZE payload bytes over C
# concurrent SMTP sessions (one message per session, as smtp-source does by
# default) into the system under test, which relays every message to Postfix's
# smtp-sink on loopback. For each system it prints the messages per second
# accepted (smtp-source wall time), delivered (from the start of injection until
# the last message has left the queue) and the peak memory. Then the ratios
# stamp/postfix. Everything listens on 127.0.0.1 only; see bench/README.md.
#
# Environment (all optional):
#   STAMP_BENCH_SYSTEMS        "stamp postfix" (default), or just one of them
#   STAMP_BENCH_LOG_LEVEL      stamp's log.level (default info)
#   STAMP_BENCH_BUILD_DIR      build directory (default <repo>/build-bench, Release)
#   STAMP_BENCH_JOBS           build parallelism (default nproc)
#   STAMP_BENCH_NO_BUILD=1     use the stamp-mta already in the build directory
#   STAMP_BENCH_SOURCE_FLAGS   extra smtp-source flags, e.g. "-d" (reuse sessions)
#   STAMP_BENCH_TIMEOUT        seconds allowed for injection and for draining
#                              (each; default 120 + N/20)
#   STAMP_BENCH_SETTLE         seconds of quiet before each system's run (default 40):
#                              ext4 without a journal skips inodes freed in the last
#                              30-35 s when it creates a file, so a run that starts
#                              right after another one's 20000 deletions pays for them
#   STAMP_BENCH_KEEP=1         keep the temporary directory (logs) for a look
set -Eeuo pipefail

N="${1:-20000}"
C="${2:-20}"
SIZE="${3:-4096}"
for v in "$N" "$C" "$SIZE"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/run.sh [N] [C] [SIZE]  (positive integers)" >&2; exit 2; }
done
(( C <= 200 )) || { echo "bench: C must be at most 200" >&2; exit 2; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${STAMP_BENCH_BUILD_DIR:-$repo/build-bench}"
systems="${STAMP_BENCH_SYSTEMS:-stamp postfix}"
log_level="${STAMP_BENCH_LOG_LEVEL:-info}"
jobs="${STAMP_BENCH_JOBS:-$(nproc)}"
run_timeout="${STAMP_BENCH_TIMEOUT:-$((120 + N / 20))}"
settle="${STAMP_BENCH_SETTLE:-40}"
[[ "$settle" =~ ^[0-9]+$ ]] || { echo "bench: STAMP_BENCH_SETTLE must be a number of seconds" >&2; exit 2; }
setup_timeout=3600   # package installation and the build
start_timeout=60     # a daemon until it listens
stop_timeout=30      # a daemon until it has exited

sender="bench-sender@example.com"
recipient="bench-rcpt@example.net"

# --- clean-up: every process started here, by PID; the temp dir; policy-rc.d --
tmp=""
pids=()                 # stamp-mta, smtp-sink, smtp-source, samplers, sleeps
pf_conf=""              # private Postfix config_directory once started
policy_created=0
policy_backup=""

log() { echo "bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

stop_pid() {            # stop_pid PID: TERM, wait, then KILL
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < stop_timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "process $pid did not exit after SIGTERM; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

pf_master=""            # its master process

postfix_pids() {        # the master and its children (every Postfix daemon), without forking
  local kid
  [ -n "$pf_master" ] && [ -d "/proc/$pf_master" ] || return 0
  echo "$pf_master"
  read -r -a kid 2>/dev/null <"/proc/$pf_master/task/$pf_master/children" || true
  [ "${#kid[@]}" -gt 0 ] && printf '%s\n' "${kid[@]}"
  return 0
}

postfix_leftovers() {   # any process with MAIL_CONFIG=<the private config dir> (master passes it on)
  local p
  for p in /proc/[0-9]*; do
    tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "MAIL_CONFIG=$pf_conf" && echo "${p#/proc/}"
  done
  return 0
}

stop_postfix() {
  [ -n "$pf_conf" ] || return 0
  local i left
  timeout "$stop_timeout" postfix -c "$pf_conf" stop >/dev/null 2>&1 || log "postfix -c $pf_conf stop failed"
  for ((i = 0; i < stop_timeout * 10; i++)); do
    if [ -z "$pf_master" ] || ! kill -0 "$pf_master" 2>/dev/null; then break; fi
    sleep 0.1
  done
  sleep 0.5             # daemons exit after the master
  left="$(postfix_leftovers)"
  if [ -n "$left" ]; then
    log "private Postfix processes still running after stop; killing ${left//$'\n'/ }"
    # shellcheck disable=SC2086 # one PID a word
    kill -KILL $left 2>/dev/null || true
  fi
  pf_conf=""
  pf_master=""
}

remove_policy_rc() {
  if (( policy_created )); then
    rm -f /usr/sbin/policy-rc.d
    [ -n "$policy_backup" ] && mv "$policy_backup" /usr/sbin/policy-rc.d
    policy_created=0
  fi
}

cleanup() {
  local status=$? i
  trap - EXIT INT TERM
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}"; done   # newest first
  stop_postfix
  remove_policy_rc
  if [ -n "$tmp" ] && [ -d "$tmp" ]; then
    if [ "${STAMP_BENCH_KEEP:-0}" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'log "error: unexpected failure (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

now() { date +%s.%N; }
# fdiv A B [DECIMALS]: A/B as a decimal string
fdiv() { awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { if (b == 0) print "n/a"; else printf "%.*f\n", d, a / b }'; }

# --- set-up: packages and the build (as root on a fresh Debian 12) --------------
[ "$(id -u)" -eq 0 ] || die "run as root (installs packages, smtp-sink and Postfix need it)"

install_postfix() {
  log "installing postfix (smtp-source, smtp-sink) without configuring or starting the system instance"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  if [ -e /usr/sbin/policy-rc.d ]; then
    policy_backup="$(mktemp /usr/sbin/policy-rc.d.bench.XXXXXX)"
    mv /usr/sbin/policy-rc.d "$policy_backup"
  fi
  policy_created=1
  printf '#!/bin/sh\n# bench/run.sh: keep package installs from starting services\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  timeout --foreground "$setup_timeout" apt-get update -qq || die "apt-get update failed or timed out"
  timeout --foreground "$setup_timeout" apt-get install -y -qq --no-install-recommends postfix >/dev/null \
    || die "apt-get install postfix failed or timed out"
  remove_policy_rc
}

for tool in smtp-source smtp-sink postfix postconf postqueue; do
  if ! command -v "$tool" >/dev/null 2>&1; then install_postfix; break; fi
done
for tool in smtp-source smtp-sink postfix postconf postqueue awk timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
getent passwd nobody >/dev/null || die "user nobody is missing (smtp-sink runs as nobody)"

stamp_bin="$build/mta/stamp-mta"
if [[ " $systems " == *" stamp "* ]]; then
  if [ "${STAMP_BENCH_NO_BUILD:-0}" = 1 ]; then
    [ -x "$stamp_bin" ] || die "STAMP_BENCH_NO_BUILD=1 but $stamp_bin does not exist"
  else
    timeout --foreground "$setup_timeout" bash "$repo/scripts/install-deps.sh" || die "installing stamp's build packages failed or timed out"
    log "building stamp-mta (Release) in $build"
    timeout --foreground "$setup_timeout" cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null \
      || die "cmake configure failed or timed out"
    timeout --foreground "$setup_timeout" cmake --build "$build" -j "$jobs" --target stamp-mta >/dev/null \
      || die "building stamp-mta failed or timed out (run: cmake --build $build --target stamp-mta)"
  fi
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/stamp-bench.XXXXXX")"
chmod 755 "$tmp"        # Postfix daemons and smtp-sink drop privileges

# --- helpers --------------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

random_port() {         # a loopback port nothing listens on (the caller retries on a race)
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 40000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  return 1
}

sink_pid=""
sink_port=""
sink_out=""
start_sink() {          # start_sink NAME: smtp-sink on a free loopback port, as nobody
  local name="$1" tries i
  sink_out="$tmp/$name-sink.out"
  for ((tries = 0; tries < 10; tries++)); do
    sink_port="$(random_port)" || die "no free loopback port found"
    smtp-sink -c -u nobody "127.0.0.1:$sink_port" 1024 >"$sink_out" 2>"$tmp/$name-sink.err" &
    sink_pid=$!
    pids+=("$sink_pid")
    for ((i = 0; i < start_timeout * 10; i++)); do
      kill -0 "$sink_pid" 2>/dev/null || break
      port_in_use "$sink_port" && return 0
      sleep 0.1
    done
    stop_pid "$sink_pid"
  done
  die "smtp-sink did not start: $(tail -3 "$tmp/$name-sink.err" 2>/dev/null)"
}

sink_messages() {       # messages smtp-sink received ("." seen), from its -c counters
  tr '\r' '\n' <"$sink_out" | awk '/mesg=/ { for (i = 1; i <= NF; i++) if ($i ~ /^mesg=/) m = substr($i, 6) } END { print m + 0 }'
}

# Memory sampler: every 0.2 s, the summed RSS and PSS (kB) of a set of processes,
# written to FILE as "peak_rss peak_pss". PIDS_CMD prints the PIDs to sum.
start_sampler() {       # start_sampler FILE PIDS_CMD...
  local file="$1"; shift
  (
    trap 'exit 0' TERM
    peak_rss=0 peak_pss=0
    while :; do
      rss=0 pss=0
      for pid in $("$@"); do
        while read -r k v _; do
          [ "$k" = "VmRSS:" ] && rss=$((rss + v))
        done 2>/dev/null <"/proc/$pid/status" || true
        while read -r k v _; do
          [ "$k" = "Pss:" ] && pss=$((pss + v))
        done 2>/dev/null <"/proc/$pid/smaps_rollup" || true
      done
      (( rss > peak_rss )) && peak_rss=$rss
      (( pss > peak_pss )) && peak_pss=$pss
      echo "$peak_rss $peak_pss" >"$file.new" && mv "$file.new" "$file"
      sleep 0.2
    done
  ) &
  pids+=("$!")
  sampler_pid=$!
}

clk_tck="$(getconf CLK_TCK)"
cpu_ticks() {           # cpu_ticks PID...: user+system ticks, with reaped children's
  local pid total=0 line f
  for pid in "$@"; do
    read -r line 2>/dev/null <"/proc/$pid/stat" || continue
    read -r -a f <<<"${line##*) }"    # f[0] is field 3 (state); utime is field 14
    total=$((total + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$total"
}

cpu_busy() {            # cpu_busy SECONDS: percent of all CPUs' time not idle over SECONDS
  local a b
  read -r a </proc/stat
  sleep "$1" & wait "$!"
  read -r b </proc/stat
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); t = 0
    for (i = 2; i <= n; i++) t += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%d\n", (t > 0 ? 100 * (t - idle) / t : 0) }'
}

queue_empty() {         # queue_empty DIR...: no file left under any DIR
  [ -z "$(find "$@" -type f -print -quit 2>/dev/null)" ]
}

inject() {              # inject NAME PORT: runs smtp-source, sets t_start, t_injected
  local name="$1" port="$2"
  log "$name: injecting $N messages of $SIZE bytes over $C sessions"
  t_start="$(now)"
  local rc=0 source_pid
  # In the background so that a signal to this script is handled at once (wait returns).
  # shellcheck disable=SC2086 # the extra flags are words
  timeout "$run_timeout" smtp-source -s "$C" -m "$N" -l "$SIZE" -M bench-client.localhost \
    -f "$sender" -t "$recipient" ${STAMP_BENCH_SOURCE_FLAGS:-} "127.0.0.1:$port" \
    >"$tmp/$name-source.out" 2>&1 &
  source_pid=$!
  pids+=("$source_pid")
  wait "$source_pid" || rc=$?
  if [ "$rc" = 124 ]; then
    die "$name: injection did not finish within ${run_timeout}s (raise STAMP_BENCH_TIMEOUT if the machine is just slow)"
  elif [ "$rc" != 0 ]; then
    die "$name: smtp-source failed (exit $rc): $(tail -3 "$tmp/$name-source.out")"
  fi
  t_injected="$(now)"
}

wait_drained() {        # wait_drained NAME CONFIRM_CMD DIR...: sets t_drained
  local name="$1" confirm="$2"; shift 2
  local deadline=$((SECONDS + run_timeout)) d
  for d in "$@"; do [ -d "$d" ] || die "$name: queue directory $d does not exist"; done
  while :; do
    if queue_empty "$@" && $confirm; then break; fi
    (( SECONDS < deadline )) || die "$name: queue not empty ${run_timeout}s after injection (STAMP_BENCH_TIMEOUT; STAMP_BENCH_KEEP=1 keeps the logs)"
    sleep 0.1
  done
  t_drained="$(now)"
}

declare -A R            # results: R[system.key]

record() {              # record NAME: rates from t_start, t_injected, t_drained
  local name="$1"
  R[$name.inject_s]="$(fdiv "$(awk -v a="$t_injected" -v b="$t_start" 'BEGIN { print a - b }')" 1 2)"
  R[$name.total_s]="$(fdiv "$(awk -v a="$t_drained" -v b="$t_start" 'BEGIN { print a - b }')" 1 2)"
  R[$name.accepted]="$(fdiv "$N" "${R[$name.inject_s]}" 0)"
  R[$name.delivered]="$(fdiv "$N" "${R[$name.total_s]}" 0)"
}

# --- stamp ------------------------------------------------------------------------
run_stamp() {
  local dir="$tmp/stamp" err port i pid done_count
  mkdir -p "$dir/tenants.d"
  start_sink stamp
  # Port 0 and the port from the event=listening line, which is logged at info
  # level; below that, a free port picked here.
  local listen_port=0
  case "$log_level" in
    debug | info) ;;
    *) listen_port="$(random_port)" || die "no free loopback port found" ;;
  esac
  cat >"$dir/stamp-mta.yaml" <<EOF
hostname: stamp-bench.localhost
log:
  level: $log_level
listeners:
  - name: bench
    address: 127.0.0.1:$listen_port
    tls: none
    auth: false
    trusted_networks:
      - network: 127.0.0.1/32
        tenant: bench
queue:
  directory: $dir/spool
delivery:
  mode: smtp
  relay_host: 127.0.0.1:$sink_port
  limits:
    max_connections: 20
    max_messages_per_connection: 1000
EOF
  echo "smtp_users: []" >"$dir/tenants.d/bench.yaml"
  err="$dir/stderr.log"
  : >"$err"             # before the daemon's redirection, which happens in the child
  "$stamp_bin" --config "$dir/stamp-mta.yaml" 2>"$err" &
  pid=$!
  pids+=("$pid")
  port=""
  for ((i = 0; i < start_timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || die "stamp-mta exited at start: $(tail -5 "$err")"
    if [ "$listen_port" = 0 ]; then
      port="$(sed -n 's/.*event=listening.* address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$err" | head -1 || true)"
    elif port_in_use "$listen_port"; then
      port="$listen_port"
    fi
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || die "stamp-mta did not listen within ${start_timeout}s: $(tail -5 "$err")"
  log "stamp: stamp-mta (pid $pid) on 127.0.0.1:$port relays to smtp-sink on 127.0.0.1:$sink_port, log level $log_level"

  start_sampler "$dir/mem" echo "$pid"
  local sampler=$sampler_pid cpu0
  cpu0="$(cpu_ticks "$pid")"
  inject stamp "$port"
  # Below info level there are no queue.done lines: an empty queue/ is the signal.
  stamp_done() { [ "$listen_port" != 0 ] || [ "$(grep -c 'event=queue.done' "$err")" -ge "$N" ]; }
  wait_drained stamp stamp_done "$dir/spool/queue"
  record stamp
  R[stamp.cpu_s]="$(fdiv $(($(cpu_ticks "$pid") - cpu0)) "$clk_tck" 1)"
  R[stamp.hwm_kb]="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")"
  stop_pid "$sampler"
  read -r "R[stamp.rss_kb]" "R[stamp.pss_kb]" <"$dir/mem" || true

  done_count="$(grep -c 'event=queue.done' "$err" || true)"
  R[stamp.sent]="$(grep 'event=delivery.attempt' "$err" | grep -c 'status=delivered' || true)"
  R[stamp.not_sent]="$(grep 'event=delivery.attempt' "$err" | grep -vc 'status=delivered' || true)"
  stop_pid "$pid"
  R[stamp.sink]="$(sink_messages)"
  stop_pid "$sink_pid"
  R[stamp.errors]="$(grep -c 'level=error\|level=warning' "$err" || true)"
  if [ "$listen_port" != 0 ]; then R[stamp.sent]="-"; R[stamp.not_sent]="-"; done_count="-"; fi
  log "stamp: queue.done=$done_count delivered=${R[stamp.sent]} other attempts=${R[stamp.not_sent]} sink received=${R[stamp.sink]}"
  if [ "${R[stamp.errors]}" -gt 0 ]; then
    log "stamp: ${R[stamp.errors]} warning/error lines in its log, the first ones:"
    grep 'level=error\|level=warning' "$err" | head -5 >&2
  fi
}

# --- Postfix (a private instance; /etc/postfix and the system instance are not touched) --
run_postfix() {
  local dir="$tmp/postfix" port i
  mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
  chown postfix "$dir/data"
  start_sink postfix
  port="$(random_port)" || die "no free loopback port found"
  cat >"$dir/etc/main.cf" <<EOF
# Private benchmark instance written by bench/run.sh (deleted afterwards).
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-bench.localhost
mydomain = localhost
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$sink_port
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
default_destination_concurrency_limit = 20
default_process_limit = 200
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
biff = no
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
EOF
  # Debian's master.cf with chroot off (nothing set up in the temp dir) and smtpd on our port.
  cat >"$dir/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  pf_conf="$dir/etc"
  timeout "$start_timeout" postfix -c "$pf_conf" start >"$dir/start.out" 2>&1 \
    || die "postfix -c $pf_conf start failed: $(tail -5 "$dir/start.out") $(tail -5 "$dir/maillog" 2>/dev/null)"
  for ((i = 0; i < start_timeout * 10; i++)); do
    port_in_use "$port" && break
    sleep 0.1
  done
  port_in_use "$port" || die "private Postfix is not listening on 127.0.0.1:$port: $(tail -5 "$dir/maillog" 2>/dev/null)"
  pf_master="$(awk '{ print $1; exit }' "$dir/queue/pid/master.pid" 2>/dev/null)"
  [ -n "$pf_master" ] || die "private Postfix wrote no $dir/queue/pid/master.pid"
  log "postfix: private instance (master pid $pf_master, $pf_conf) on 127.0.0.1:$port relays to smtp-sink on 127.0.0.1:$sink_port"

  start_sampler "$dir/mem" postfix_pids
  local sampler=$sampler_pid cpu0
  # shellcheck disable=SC2046 # one PID a word
  cpu0="$(cpu_ticks $(postfix_pids))"
  inject postfix "$port"
  postfix_empty() { timeout 30 postqueue -c "$pf_conf" -p 2>/dev/null | grep -q 'Mail queue is empty'; }
  wait_drained postfix postfix_empty "$dir/queue/maildrop" "$dir/queue/incoming" "$dir/queue/active" \
    "$dir/queue/deferred" "$dir/queue/hold"
  record postfix
  # shellcheck disable=SC2046 # one PID a word
  R[postfix.cpu_s]="$(fdiv $(($(cpu_ticks $(postfix_pids)) - cpu0)) "$clk_tck" 1)"
  stop_pid "$sampler"
  read -r "R[postfix.rss_kb]" "R[postfix.pss_kb]" <"$dir/mem" || true
  stop_postfix
  R[postfix.sent]="$(grep -c ' status=sent ' "$dir/maillog" || true)"
  R[postfix.not_sent]="$(grep ' status=' "$dir/maillog" | grep -vc ' status=sent ' || true)"
  R[postfix.sink]="$(sink_messages)"
  stop_pid "$sink_pid"
  log "postfix: status=sent=${R[postfix.sent]} other status=${R[postfix.not_sent]} sink received=${R[postfix.sink]}"
  if grep -q 'warning:\|fatal:\|panic:' "$dir/maillog"; then
    log "postfix: warnings in its log, the first ones:"
    grep 'warning:\|fatal:\|panic:' "$dir/maillog" | head -5 >&2
  fi
}

# --- run and report -------------------------------------------------------------------
log "N=$N messages, C=$C sessions, SIZE=$SIZE bytes; systems: $systems; phase timeout ${run_timeout}s"
for s in $systems; do
  if [ "$settle" -gt 0 ]; then
    log "$s: waiting ${settle}s for the machine to settle (STAMP_BENCH_SETTLE)"
    sleep "$((settle > 3 ? settle - 3 : 0))" &    # waited for, so that a signal interrupts it
    pids+=("$!")
    wait "$!"
  fi
  R[$s.busy]="$(cpu_busy 3)"
  if [ "${R[$s.busy]}" -gt 25 ]; then
    log "$s: warning: the CPUs were ${R[$s.busy]}% busy just before the run: other work will skew the figures"
  fi
  case "$s" in
    stamp) run_stamp ;;
    postfix) run_postfix ;;
    *) die "unknown system '$s' in STAMP_BENCH_SYSTEMS" ;;
  esac
done

mb() { [ -n "${1:-}" ] && fdiv "$1" 1024 1 || echo "-"; }
val() { echo "${R[$1]:--}"; }
ratio() { [ -n "${R[$1]:-}" ] && [ -n "${R[$2]:-}" ] && fdiv "${R[$1]}" "${R[$2]}" 2 || echo "-"; }

echo
version="$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"
[ "${STAMP_BENCH_NO_BUILD:-0}" = 1 ] && version="prebuilt, tree now $version"
echo "N=$N  C=$C  SIZE=$SIZE  (smtp-source -> MTA -> smtp-sink, loopback; $(nproc) CPUs; stamp $version, log level $log_level)"
printf '%-34s %12s %12s %14s\n' "" "stamp" "postfix" "stamp/postfix"
printf '%-34s %12s %12s %14s\n' "accepted (msg/s)" "$(val stamp.accepted)" "$(val postfix.accepted)" "$(ratio stamp.accepted postfix.accepted)"
printf '%-34s %12s %12s %14s\n' "delivered (msg/s)" "$(val stamp.delivered)" "$(val postfix.delivered)" "$(ratio stamp.delivered postfix.delivered)"
printf '%-34s %12s %12s %14s\n' "injection time (s)" "$(val stamp.inject_s)" "$(val postfix.inject_s)" "$(ratio stamp.inject_s postfix.inject_s)"
printf '%-34s %12s %12s %14s\n' "until queue empty (s)" "$(val stamp.total_s)" "$(val postfix.total_s)" "$(ratio stamp.total_s postfix.total_s)"
printf '%-34s %12s %12s %14s\n' "CPU time of the MTA (s)**" "$(val stamp.cpu_s)" "$(val postfix.cpu_s)" "$(ratio stamp.cpu_s postfix.cpu_s)"
R[stamp.mem_kb]="${R[stamp.hwm_kb]:-}"
R[postfix.mem_kb]="${R[postfix.rss_kb]:-}"
printf '%-34s %12s %12s %14s\n' "peak memory (MB)*" "$(mb "${R[stamp.hwm_kb]:-}")" "$(mb "${R[postfix.rss_kb]:-}")" "$(ratio stamp.mem_kb postfix.mem_kb)"
printf '%-34s %12s %12s %14s\n' "peak summed RSS, sampled (MB)" "$(mb "${R[stamp.rss_kb]:-}")" "$(mb "${R[postfix.rss_kb]:-}")" "$(ratio stamp.rss_kb postfix.rss_kb)"
printf '%-34s %12s %12s %14s\n' "peak summed PSS, sampled (MB)" "$(mb "${R[stamp.pss_kb]:-}")" "$(mb "${R[postfix.pss_kb]:-}")" "$(ratio stamp.pss_kb postfix.pss_kb)"
printf '%-34s %12s %12s\n' "CPU busy in the 3 s before (%)" "$(val stamp.busy)" "$(val postfix.busy)"
printf '%-34s %12s %12s\n' "delivered per log / sink received" "$(val stamp.sent)/$(val stamp.sink)" "$(val postfix.sent)/$(val postfix.sink)"
echo "* stamp: VmHWM of stamp-mta (includes start-up); postfix: peak of the summed VmRSS of the instance's"
echo "  processes. Sampled rows: every 0.2 s during the run; PSS shares library pages between processes."
echo "** user+system, injection start to empty queue (Postfix: master, its children and the reaped ones)."

failed=0
for s in $systems; do
  sent="${R[$s.sent]:-0}"
  [ "$sent" = "-" ] && sent="$N"   # not logged below info level: the sink's count decides
  if [ "$sent" -ne "$N" ] || [ "${R[$s.sink]:-0}" -lt "$N" ]; then
    log "$s: delivered ${R[$s.sent]:-0} and the sink received ${R[$s.sink]:-0} of $N messages"
    failed=1
  fi
done
exit "$failed"
