/**
 * Target platforms (`os_arch`, Go's GOOS/GOARCH names as Terraform uses them).
 * Terraform itself only checks the shape; the mirror keeps an allowlist so a
 * typo ("linux_amd46") is reported instead of creating an unreachable archive.
 * The lists cover what provider releases actually ship; extend them here when
 * a real provider needs another Go port (e.g. loong64, ppc64).
 */

import { InvalidInput } from '../errors.js';

export const KNOWN_OS = ['darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'solaris', 'windows'] as const;
export const KNOWN_ARCH = [
  '386',
  'amd64',
  'arm',
  'arm64',
  'mips',
  'mips64',
  'mips64le',
  'mipsle',
  'ppc64le',
  'riscv64',
  's390x',
] as const;

export type PlatformOs = (typeof KNOWN_OS)[number];
export type PlatformArch = (typeof KNOWN_ARCH)[number];

export interface Platform {
  os: PlatformOs;
  arch: PlatformArch;
}

export function isKnownOs(s: string): s is PlatformOs {
  return (KNOWN_OS as readonly string[]).includes(s);
}

export function isKnownArch(s: string): s is PlatformArch {
  return (KNOWN_ARCH as readonly string[]).includes(s);
}

/** Parses "linux_amd64". Case-sensitive: the string is a JSON key clients match exactly. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('_');
  if (parts.length !== 2) {
    throw new InvalidInput(`invalid platform ${JSON.stringify(s)}: expected os_arch, e.g. "linux_amd64"`, {
      key: 'platform',
    });
  }
  const [os = '', arch = ''] = parts;
  return platformOf(os, arch);
}

/** Validates an os/arch pair given separately (e.g. registry download URL segments). */
export function platformOf(os: string, arch: string): Platform {
  if (!isKnownOs(os)) {
    throw new InvalidInput(`unknown operating system ${JSON.stringify(os)}: expected one of ${KNOWN_OS.join(', ')}`, {
      key: 'os',
    });
  }
  if (!isKnownArch(arch)) {
    throw new InvalidInput(`unknown architecture ${JSON.stringify(arch)}: expected one of ${KNOWN_ARCH.join(', ')}`, {
      key: 'arch',
    });
  }
  return { os, arch };
}

export function formatPlatform(p: { os: string; arch: string }): string {
  return `${p.os}_${p.arch}`;
}
