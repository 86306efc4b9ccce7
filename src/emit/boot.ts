// What starts autoconfig at boot: a systemd unit and a KNOPPIX-style SysV init script, both running
// `autoconfig --write --apply` once, early, before Xen's daemons, the network and X read what it writes. KNOPPIX ran
// hwsetup from rcS (runlevel S) the same way. `autoconfig install-boot` writes these files into a target root.
//
// Both call autoconfig by an absolute command line that must be right on the target (`exec`): by default the Node
// running this process and the real path of bin/autoconfig.cjs (src/cli/install-boot.ts), or `--exec PATH`. The
// texts are pure functions of the options, byte-identical from run to run, so installing twice changes nothing and
// `--remove` recognises its own files by their content. They are kept in small named pieces below, each with the
// reason for its settings.
import { AutoconfigError } from '../errors.ts';
import { RUN_RECORD_PATH } from './run-record.ts';
import { shellQuote } from './shell.ts';

export const UNIT_NAME = 'autoconfig.service';
/**
 * The target that pulls the unit in: sysinit.target, so that it runs in every boot (rescue too) among the earliest
 * units, as hwsetup ran from rcS in runlevel S. multi-user.target would reach the same place in a normal boot (the
 * ordering comes from Before=, not from WantedBy=) but not in rescue mode, where a KNOPPIX boot still configured
 * the hardware.
 */
export const WANTED_BY = 'sysinit.target';

export const BOOT_PATHS = {
  unit: `/etc/systemd/system/${UNIT_NAME}`,
  /** What `systemctl enable` would make: the unit in the wants directory of WANTED_BY. */
  unitLink: `/etc/systemd/system/${WANTED_BY}.wants/${UNIT_NAME}`,
  initScript: '/etc/init.d/autoconfig',
} as const;
/** The link's text, relative so that it points at the same unit inside any root it is installed into. */
export const UNIT_LINK_TARGET = `../${UNIT_NAME}`;

/** Seconds a boot waits for autoconfig at most: module loading is bounded at 120 s in all, the rest takes ~0.1 s. */
export const DEFAULT_BOOT_TIMEOUT_SEC = 180;

export interface BootFilesOptions {
  /**
   * The command that starts autoconfig on the target, without arguments: one executable path
   * ('/usr/bin/autoconfig'), or argv words (['/usr/bin/node', '/opt/autoconfig/bin/autoconfig.cjs']). The first word
   * must be an absolute path (neither systemd nor an rcS script should depend on PATH for it).
   */
  exec: string | readonly string[];
  /** Seconds before a boot gives up on autoconfig (the unit's TimeoutStartSec, the script's timeout(1)). */
  timeoutSec?: number;
  /**
   * What the init script uses, for tests that run it for real outside a boot; the defaults are the real ones.
   * path: its PATH; record: the run record; runDir: where it notes that it ran this boot (default /run, else
   * /var/run); syslogSocket: the socket that says a syslog daemon listens (default /dev/log); kmsg: the kernel log
   * it writes to when none does.
   */
  initScript?: { path?: string; record?: string; runDir?: string; syslogSocket?: string; kmsg?: string };
}

/** A rendered file, or a symlink (`symlink` is the link's text), with its absolute path inside the target root. */
export type BootFile =
  | { kind: 'file'; path: string; content: string; mode: number }
  | { kind: 'symlink'; path: string; symlink: string };

/** The unit, its enabling link, the init script (mode 0755); in this order. */
export function renderBootFiles(options: BootFilesOptions): BootFile[] {
  const exec = execWords(options.exec);
  const timeoutSec = options.timeoutSec ?? DEFAULT_BOOT_TIMEOUT_SEC;
  if (!Number.isInteger(timeoutSec) || timeoutSec < 1 || timeoutSec > 86_400) {
    throw new AutoconfigError('E_USAGE', `boot timeout must be a whole number of seconds from 1 to 86400, not ${String(timeoutSec)}`);
  }
  return [
    { kind: 'file', path: BOOT_PATHS.unit, content: renderUnit(exec, timeoutSec), mode: 0o644 },
    { kind: 'symlink', path: BOOT_PATHS.unitLink, symlink: UNIT_LINK_TARGET },
    { kind: 'file', path: BOOT_PATHS.initScript, content: renderInitScript(exec, timeoutSec, options.initScript ?? {}), mode: 0o755 },
  ];
}

/** The exec words, checked: non-empty, the first absolute, no control characters (each must fit on one line). */
export function execWords(exec: string | readonly string[]): string[] {
  const words = typeof exec === 'string' ? [exec] : [...exec];
  if (words.length === 0 || words[0] === '') throw new AutoconfigError('E_USAGE', 'the command that starts autoconfig is empty');
  if (!words[0]!.startsWith('/')) {
    throw new AutoconfigError('E_USAGE', `${JSON.stringify(words[0])}: the command that starts autoconfig must be an absolute path`, {
      path: words[0]!,
    });
  }
  for (const word of words) {
    if (typeof word !== 'string' || word === '' || /[\x00-\x1f\x7f]/.test(word)) {
      throw new AutoconfigError('E_USAGE', `${JSON.stringify(word)}: not usable in a boot command line (empty or a control character)`);
    }
  }
  return words;
}

// ---- the systemd unit -------------------------------------------------------------------------------------------

/**
 * One ExecStart word as systemd reads it: quoted when needed, % (specifiers) doubled, and in the arguments $
 * (variables) doubled too; systemd expands no variables in the command itself, so there a $ stays as it is.
 */
export function systemdWord(word: string, position: 'command' | 'argument' = 'argument'): string {
  const plain = /^[A-Za-z0-9_@+=:,./-]+$/.test(word);
  const quoted = plain ? word : `"${word.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  const specifiers = quoted.replaceAll('%', '%%');
  return position === 'command' ? specifiers : specifiers.replaceAll('$', '$$$$');
}

function execStart(words: string[]): string {
  return words.map((word, i) => systemdWord(word, i === 0 ? 'command' : 'argument')).join(' ');
}

const UNIT_HEADER = `# ${BOOT_PATHS.unit}: written by \`autoconfig install-boot\` (xenoppix-autoconfig), removed by
# \`autoconfig install-boot --remove\`. It runs \`autoconfig --write --apply\` once at boot, before Xen's daemons, the
# network and the display manager, as KNOPPIX ran hwsetup from rcS.
`;

const UNIT_DESCRIPTION = `[Unit]
Description=Xenoppix autoconfig: configure Xen, Dom0 and its drivers for this hardware
`;

const UNIT_EARLY = `# Early, as hwsetup in runlevel S: not after basic.target as ordinary services are. Without the default
# dependencies the stop at shutdown must be asked for explicitly.
DefaultDependencies=no
Conflicts=shutdown.target
Before=shutdown.target
# It writes /etc and /var/lib/autoconfig: after every local filesystem is mounted (and / remounted read-write).
After=local-fs.target
# The probe reads /proc/xen to tell a Xen Dom0 from bare metal: after xenfs is mounted there, where Xen's units
# mount it (ordering only: without Xen installed there is no such unit, and nothing is pulled in).
After=proc-xen.mount
# Not ordered against systemd-modules-load.service, on purpose. That runs as early as it can, without waiting for
# local-fs.target, so Before= would hold it back until every filesystem is mounted; and --apply loads the Dom0
# modules itself, each within 4 s and all within 120 s, which modules-load does without a limit. The
# modules-load.d file written here serves installed systems on their next boot; a module loaded by both is loaded
# once (modprobe of a loaded module does nothing).

`;

const UNIT_CONSUMERS = `# What reads the files it writes or needs the modules it loads starts after it: Xen's daemons and Dom0 setup
# (xencommons, xen, xendomains, xen-init-dom0), the network (NETCARD_DRIVER in /etc/sysconfig/netcard; the backends
# before bridges), X (/etc/sysconfig/xserver). sysinit.target itself is not held: other services do not wait for it.
Before=xencommons.service xen.service xendomains.service xen-init-dom0.service
Wants=network-pre.target
Before=network-pre.target networking.service systemd-networkd.service
Before=display-manager.service
`;

function unitService(exec: string[], timeoutSec: number): string {
  return `[Service]
# Runs once; "active" after it ran, so \`systemctl status autoconfig\` shows this boot's run and nothing runs it twice.
Type=oneshot
RemainAfterExit=yes
ExecStart=${execStart([...exec, '--write', '--apply'])}
# 3: something failed and the safe plan was written instead; 4: the files were written but some modules failed to
# load or timed out. Both leave a bootable system: the unit is not "failed" for them and the boot goes on (the
# journal line and /var/lib/autoconfig/last-run.json say which).
SuccessExitStatus=3 4
# Module loading is bounded at 120 s in all (4 s each), probing and writing take about a second: this leaves
# margin. At the limit systemd kills the unit's whole cgroup, modprobe children included, and the boot goes on.
TimeoutStartSec=${timeoutSec}s
# The run's summary line and the modules that failed go to the journal under "autoconfig".
StandardOutput=journal
StandardError=journal
SyslogIdentifier=autoconfig
`;
}

const UNIT_INSTALL = `[Install]
# Every boot, rescue included, as hwsetup ran from rcS; the ordering above comes from Before=, not from this.
WantedBy=${WANTED_BY}
`;

export function renderUnit(exec: string[], timeoutSec: number): string {
  return [UNIT_HEADER, UNIT_DESCRIPTION + UNIT_EARLY + UNIT_CONSUMERS, unitService(exec, timeoutSec), UNIT_INSTALL].join('\n');
}

// ---- the SysV init script ---------------------------------------------------------------------------------------

const LSB_HEADER = `### BEGIN INIT INFO
# Provides:          autoconfig
# Required-Start:    $local_fs
# Required-Stop:
# X-Start-Before:    xencommons xen xendomains networking
# Default-Start:     S
# Default-Stop:
# Short-Description: Configure Xen, Dom0 and its drivers for this hardware
# Description:       Runs \`autoconfig --write --apply\` once at boot, as KNOPPIX ran
#                    hwsetup: probes the hardware, writes the Xen, Dom0 and driver
#                    configuration and loads the Dom0 modules, within a time limit.
### END INIT INFO
`;

const SCRIPT_INTRO = `# ${BOOT_PATHS.initScript}: written by \`autoconfig install-boot\` (xenoppix-autoconfig), removed by
# \`autoconfig install-boot --remove\`. Enable it with \`update-rc.d autoconfig defaults\` (rcS, ordered by the header
# above); under systemd the unit autoconfig.service of the same name runs instead. POSIX sh: dash and busybox sh.
#
# Exit codes of \`start\`: 0 also when autoconfig exits 3 (the safe plan was written after a failure) or 4 (some
# modules failed to load): the system is configured and the boot goes on; what happened is said on the console and
# in syslog. 1 when autoconfig failed or ran out of time, 5 when it is not installed.
`;

function scriptSettings(exec: string[], timeoutSec: number, env: NonNullable<BootFilesOptions['initScript']>): string {
  const runDir =
    env.runDir === undefined
      ? '# Where it notes that it ran this boot: /run (a tmpfs, empty at every boot), /var/run on older systems.\nRUNDIR=/run\n[ -d "$RUNDIR" ] || RUNDIR=/var/run\n'
      : `RUNDIR=${shellQuote(env.runDir)}\n`;
  return `# A known PATH, as every init script: autoconfig finds modprobe on it (/sbin).
PATH=${shellQuote(env.path ?? '/sbin:/usr/sbin:/bin:/usr/bin')}
export PATH

NAME=autoconfig
# The command that starts autoconfig on this system (install-boot --exec).
AUTOCONFIG=${shellQuote(exec[0]!)}
# Seconds before a boot gives up on it: module loading is bounded at 120 s in all.
LIMIT=${timeoutSec}
# The record every --write run leaves (autoconfig's docs/boot.md).
RECORD=${shellQuote(env.record ?? RUN_RECORD_PATH)}
${runDir}DONE="$RUNDIR/autoconfig.done"
# A syslog daemon (or journald) listens on this socket; before one runs, as in rcS, lines go to the kernel log.
SYSLOG_SOCKET=${shellQuote(env.syslogSocket ?? '/dev/log')}
KMSG=${shellQuote(env.kmsg ?? '/dev/kmsg')}
`;
}

const SCRIPT_LOG = `have() { command -v "$1" >/dev/null 2>&1; }

# One line on the console and in syslog. logger cannot tell whether anything listens (it exits 0 either way), so
# the socket decides; without one the kernel log keeps the line until klogd or journald passes it on.
log() {
	printf '%s: %s\\n' "$NAME" "$*"
	if [ -S "$SYSLOG_SOCKET" ] && have logger; then
		logger -t "$NAME" "$*" 2>/dev/null || :
	elif [ -w "$KMSG" ]; then
		{ printf '%s: %s\\n' "$NAME" "$*" >>"$KMSG"; } 2>/dev/null || :
	fi
}

# What an exit code of autoconfig means (its README, "Exit codes").
meaning() {
	case $1 in
	0) echo "configured" ;;
	1) echo "failed, nothing or not everything was written" ;;
	2) echo "usage error" ;;
	3) echo "something failed and the safe plan was written instead" ;;
	4) echo "the files were written, but some modules failed to load or timed out" ;;
	5) echo "files partly written: the record lists which are new and which as before" ;;
	*) echo "unexpected exit code" ;;
	esac
}

# A key of the run record: top-level keys are one per line, \`  "KEY": VALUE,\`; strings lose their quotes.
record_value() {
	[ -r "$RECORD" ] || return 0
	sed -n "s/^  \\"$1\\": \\"\\{0,1\\}\\(.*[^\\",]\\)\\"\\{0,1\\},\\{0,1\\}\$/\\1/p" "$RECORD" 2>/dev/null
}
`;

function scriptStart(exec: string[]): string {
  const words = [...exec.map(shellQuote), '--write', '--apply'].join(' ');
  return `# "$@" bounded by timeout(1) where there is one: coreutils and busybox >= 1.30 take \`timeout [-k S] SECS CMD\`,
# older busybox \`timeout -t SECS CMD\`; the syntax is tried on true(1) first (a wrong one would not run CMD at all).
bounded() {
	if have timeout && timeout -k 1 5 true 2>/dev/null; then
		timeout -k 10 "$LIMIT" "$@"
	elif have timeout && timeout -t 5 true 2>/dev/null; then
		timeout -t "$LIMIT" "$@"
	else
		log "no usable timeout(1): running without a time limit"
		"$@"
	fi
}

do_start() {
	if [ ! -x "$AUTOCONFIG" ]; then
		log "$AUTOCONFIG is missing or not executable: nothing configured"
		return 5
	fi
	printf '%s\\n' "Autoconfiguring Xen, Dom0 and its drivers (autoconfig --write --apply, at most $LIMIT s)..."
	log "starting"
	# The record's start time before the run: its summary is logged only when this run wrote a new one.
	before=$(record_value startedAt)
	set -- ${words}
	bounded "$@"
	rc=$?
	case $rc in
	0 | 3 | 4)
		summary=$(record_value summary)
		[ -z "$summary" ] || [ "$(record_value startedAt)" = "$before" ] || log "\${summary#autoconfig: }"
		[ "$rc" = 0 ] || log "exit $rc: $(meaning "$rc"); the boot goes on (details: $RECORD)"
		{ echo "$rc" >"$DONE"; } 2>/dev/null || :
		return 0
		;;
	124 | 137 | 143)
		# 124: coreutils' timeout; 143/137: killed by SIGTERM/SIGKILL (busybox's timeout, or -k).
		log "stopped after the time limit of $LIMIT s (exit $rc); the files written so far stay"
		return 1
		;;
	*)
		log "failed with exit $rc: $(meaning "$rc")"
		return 1
		;;
	esac
}

# A run at boot has nothing to stop; \`stop\` forgets that it ran, so that \`status\` says "not running", as LSB asks.
do_stop() {
	rm -f "$DONE" 2>/dev/null
	return 0
}

# LSB status: 0 when it ran this boot, 3 when it did not; the last run from the record either way.
do_status() {
	if [ -r "$RECORD" ]; then
		code=$(record_value exitCode)
		printf '%s\\n' "$NAME: last run $(record_value startedAt), exit $code ($(meaning "$code"))"
		summary=$(record_value summary)
		[ -z "$summary" ] || printf '%s\\n' "$summary"
	else
		printf '%s\\n' "$NAME: no run record ($RECORD)"
	fi
	if [ -f "$DONE" ]; then
		printf '%s\\n' "$NAME: ran at this boot"
		return 0
	fi
	printf '%s\\n' "$NAME: not run since boot"
	return 3
}
`;
}

const SCRIPT_MAIN = `if [ $# -ne 1 ]; then
	echo "Usage: $0 {start|stop|restart|force-reload|status}" >&2
	exit 2
fi
case $1 in
start) do_start ;;
stop) do_stop ;;
restart | force-reload)
	do_stop
	do_start
	;;
status) do_status ;;
reload)
	echo "$NAME: reload is not supported (restart runs it again)" >&2
	exit 3
	;;
*)
	echo "Usage: $0 {start|stop|restart|force-reload|status}" >&2
	exit 2
	;;
esac
`;

export function renderInitScript(
  exec: string[],
  timeoutSec: number,
  env: NonNullable<BootFilesOptions['initScript']> = {},
): string {
  return ['#!/bin/sh\n' + LSB_HEADER, SCRIPT_INTRO, scriptSettings(exec, timeoutSec, env), SCRIPT_LOG, scriptStart(exec), SCRIPT_MAIN].join('\n');
}
