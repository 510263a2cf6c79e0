// What the yixing-agent RPM and deb hold and do, as text: the spec, the deb control files
// and the maintainer scripts. Pure; infra/agent/package.ts builds the packages from it.
//
// One RPM for every EL-family target (EL7, EL8, openEuler, BC-Linux): nothing a target's
// rpm 4.11 (EL7) cannot read. No rich dependencies, no zstd payload, no %{?systemd_*}
// macros (they need the target's macro packages at build time): plain scriptlets that call
// systemctl when it is there.

import path from 'node:path';
import { AGENT_CONFIG_FILE, AGENT_UNIT } from '../../services/host-agent/src/enrol/agent-config.ts';

/** The architectures the agent is built for (AgentTarget['arch']), as each packager names them. */
export const PACKAGE_ARCH = {
  x64: { rpm: 'x86_64', deb: 'amd64' },
  arm64: { rpm: 'aarch64', deb: 'arm64' },
} as const;
export type AgentArch = keyof typeof PACKAGE_ARCH;

export const PACKAGE_NAME = 'yixing-agent';
/** The agent owns these names (`yx-agent enrol` writes the file and starts the unit). */
export const UNIT_NAME = AGENT_UNIT;

/** Where each file goes on a host; the same in both packages but for the unit. */
export const PACKAGE_PATHS = {
  executable: '/usr/bin/yx-agent',
  // EL's %{_unitdir}.
  rpmUnit: `/usr/lib/systemd/system/${UNIT_NAME}`,
  // Debian's through bookworm, where every other package's units are: on a merged-/usr host
  // (/lib -> usr/lib) dpkg then sees the directory shared, and never tries to remove it.
  // Never to move between builds: dpkg can lose a file moved between aliased paths.
  debUnit: `/lib/systemd/system/${UNIT_NAME}`,
  configDir: path.posix.dirname(AGENT_CONFIG_FILE),
  config: AGENT_CONFIG_FILE,
  stateDir: '/var/lib/yixing',
} as const;

/** Payload compressors every target reads (EL7's rpm has no zstd); xz is smaller, gzip faster. */
export const COMPRESSIONS = ['xz', 'gzip'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export interface PackageMeta {
  /** services/host-agent's version, e.g. 0.1.0. */
  version: string;
  /** The build of that version: a newer build upgrades an older one. */
  release: string;
  /** The commit the executable was built from. */
  commit: string;
  arch: AgentArch;
  compression: Compression;
}

/** Bad input named, nothing built: the release must order as a number in rpm and dpkg alike. */
export function releaseProblem(release: string): string | undefined {
  return /^[1-9][0-9]*(\.[0-9]+)*$/.test(release)
    ? undefined
    : `release ${JSON.stringify(release)} must be a build number such as 1, 2 or 3.1 (digits and dots, not starting with 0)`;
}

const SUMMARY = 'Yixing host agent: in-place OS migration of this host';
const description = (m: PackageMeta): string =>
  `yx-agent ${m.version} (commit ${m.commit}) as one executable, and ${UNIT_NAME}, which runs it in host mode. ` +
  `Enrol the host with \`yx-agent enrol\`, which starts the service.`;

// --- the scriptlets, one shell text for both packagers --------------------------------

/** Is systemd this machine's init (not a chroot, an image build, a container without it)? */
const BOOTED = `booted() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }`;

/** After new files are in place: systemd reads the new unit. Never enabled nor started here: enrolment does that. */
const reloadUnits = 'if booted; then systemctl daemon-reload || :; fi';

/**
 * After an upgrade: restart the agent if it was running (try-restart leaves a stopped one
 * stopped). --no-block: the agent may be the one running this very upgrade (a profile that
 * upgrades yixing-agent), and a scriptlet waiting for it to stop would wait on itself.
 */
const restartIfRunning = `if booted; then systemctl try-restart --no-block ${UNIT_NAME} || :; fi`;

/**
 * Before removal: disabled even when systemd is not running (it only removes links), then
 * stopped. Two commands: EL7's systemctl (219) has no `disable --now`.
 */
const disableAndStop = [
  `if command -v systemctl >/dev/null 2>&1; then systemctl --no-reload disable ${UNIT_NAME} >/dev/null 2>&1 || :; fi`,
  `if booted; then systemctl stop ${UNIT_NAME} || :; fi`,
].join('\n');

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/**
 * rpm erases a changed %config file as NAME.rpmsave; the agent's enrolment settings go back
 * where they were, so a later install finds them (and writes its own as agent.env.rpmnew).
 */
const keepConfigOnErase = `if [ -f ${PACKAGE_PATHS.config}.rpmsave ] && [ ! -e ${PACKAGE_PATHS.config} ]; then mv ${PACKAGE_PATHS.config}.rpmsave ${PACKAGE_PATHS.config}; fi`;

/** The RPM scriptlets. $1 counts the versions installed after the operation (0: erased). */
export function rpmScriptlets(): { post: string; preun: string; postun: string } {
  return {
    post: [BOOTED, reloadUnits].join('\n'),
    preun: [BOOTED, 'if [ "$1" -eq 0 ]; then', indent(disableAndStop), 'fi'].join('\n'),
    postun: [BOOTED, reloadUnits, 'if [ "$1" -ge 1 ]; then', indent(restartIfRunning), 'else', indent(keepConfigOnErase), 'fi'].join('\n'),
  };
}

/** The deb maintainer scripts (dpkg passes the action and, on upgrade, the old version). */
export function debMaintainerScripts(): { postinst: string; prerm: string; postrm: string } {
  const script = (...lines: string[]): string => ['#!/bin/sh', 'set -e', BOOTED, ...lines, 'exit 0', ''].join('\n');
  return {
    postinst: script(
      'if [ "$1" = configure ]; then',
      indent(reloadUnits),
      '  if [ -n "$2" ]; then',
      indent(indent(restartIfRunning)),
      '  fi',
      'fi',
    ),
    prerm: script('if [ "$1" = remove ]; then', indent(disableAndStop), 'fi'),
    // Purge: dpkg itself removes agent.env and /etc/yixing. The state directory stays: it
    // holds the host's credential and the record of its migrations and rollbacks.
    postrm: script(
      'case "$1" in',
      `  remove|purge) ${reloadUnits} ;;`,
      'esac',
      `if [ "$1" = purge ] && [ -d ${PACKAGE_PATHS.stateDir} ]; then`,
      `  echo "${PACKAGE_NAME}: kept ${PACKAGE_PATHS.stateDir} (the host's credential and migration records); remove it by hand if the host is done with" >&2`,
      'fi',
    ),
  };
}

// --- RPM ------------------------------------------------------------------------------

/** rpmbuild's payload setting: level 6 xz or level 9 gzip, single-threaded (any rpm reads both). */
const rpmPayload = (c: Compression): string => (c === 'xz' ? 'w6.xzdio' : 'w9.gzdio');

/**
 * The spec. %{_sourcedir} holds yx-agent, the unit and agent.env. The executable goes in
 * as built: never stripped (that drops Bun's embedded bundle), no debuginfo, no build-id links.
 */
export function rpmSpec(m: PackageMeta): string {
  const s = rpmScriptlets();
  const p = PACKAGE_PATHS;
  return [
    '%define __os_install_post %{nil}',
    '%define debug_package %{nil}',
    '%define _build_id_links none',
    `%define _binary_payload ${rpmPayload(m.compression)}`,
    // Byte-stable builds: times from SOURCE_DATE_EPOCH, no build host name.
    '%define use_source_date_epoch_as_buildtime 1',
    '%define clamp_mtime_to_source_date_epoch 1',
    '%define _buildhost yixing-build',
    `Name: ${PACKAGE_NAME}`,
    `Version: ${m.version}`,
    `Release: ${m.release}`,
    `Summary: ${SUMMARY}`,
    'License: Apache-2.0',
    // No BuildArch: `rpmbuild --target` names it (BuildArch: aarch64 needs an aarch64 build host).
    '',
    '%description',
    description(m),
    '',
    '%install',
    `install -D -m 0755 %{_sourcedir}/yx-agent %{buildroot}${p.executable}`,
    `install -D -m 0644 %{_sourcedir}/${UNIT_NAME} %{buildroot}${p.rpmUnit}`,
    `install -D -m 0600 %{_sourcedir}/agent.env %{buildroot}${p.config}`,
    `install -d -m 0700 %{buildroot}${p.stateDir}`,
    '',
    '%post',
    s.post,
    '',
    '%preun',
    s.preun,
    '',
    '%postun',
    s.postun,
    '',
    '%files',
    `%attr(0755,root,root) ${p.executable}`,
    `%attr(0644,root,root) ${p.rpmUnit}`,
    `%dir %attr(0755,root,root) ${p.configDir}`,
    `%config(noreplace) %attr(0600,root,root) ${p.config}`,
    `%dir %attr(0700,root,root) ${p.stateDir}`,
    '',
  ].join('\n');
}

/** The package file rpmbuild writes. */
export const rpmFileName = (m: Pick<PackageMeta, 'version' | 'release' | 'arch'>): string =>
  `${PACKAGE_NAME}-${m.version}-${m.release}.${PACKAGE_ARCH[m.arch].rpm}.rpm`;

// --- deb ------------------------------------------------------------------------------

/** dpkg's version: upstream version, then the build as the Debian revision. */
export const debVersion = (m: Pick<PackageMeta, 'version' | 'release'>): string => `${m.version}-${m.release}`;

export const debFileName = (m: Pick<PackageMeta, 'version' | 'release' | 'arch'>): string =>
  `${PACKAGE_NAME}_${debVersion(m)}_${PACKAGE_ARCH[m.arch].deb}.deb`;

/** DEBIAN/control; `installedKiB` is the payload's size. Depends: the executable needs only glibc 2.17. */
export function debControl(m: PackageMeta, installedKiB: number): string {
  return [
    `Package: ${PACKAGE_NAME}`,
    `Version: ${debVersion(m)}`,
    `Architecture: ${PACKAGE_ARCH[m.arch].deb}`,
    'Maintainer: Yixing <packages@yixing.invalid>',
    `Installed-Size: ${installedKiB}`,
    'Depends: libc6 (>= 2.17)',
    'Section: admin',
    'Priority: optional',
    `Description: ${SUMMARY}`,
    ` ${description(m)}`,
    '',
  ].join('\n');
}

/** DEBIAN/conffiles: dpkg keeps the host's edits on upgrade and remove, drops the file on purge. */
export const debConffiles = (): string => `${PACKAGE_PATHS.config}\n`;

/** dpkg-deb's compressor arguments. */
export const debCompressionArgs = (c: Compression): string[] => (c === 'xz' ? ['-Zxz', '-z6'] : ['-Zgzip', '-z9']);
