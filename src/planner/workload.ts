// The requests' paths, below the prefix: the mix bench/lib/workload.mjs plays (85% packages,
// 10% indexes, 5% release files), on the current stable branch. What a path costs its mirror
// is the service's own estimate (LoadMeter.bytesFor: capacity.meanBytes by kind of path).

import type { Random } from './random.js'

const BRANCH = 'v3.22'
const RELEASE = '3.22.2'
const ARCH = 'x86_64'

// Real Alpine packages, most asked for first; picked Zipf-like (weight 1/rank).
const PACKAGES = `musl-1.2.5-r10 busybox-1.37.0-r18 alpine-baselayout-3.7.0-r0 apk-tools-2.14.9-r2 libcrypto3-3.5.1-r0
libssl3-3.5.1-r0 zlib-1.3.1-r2 ca-certificates-20250619-r0 ssl_client-1.37.0-r18 scanelf-1.3.8-r1 musl-utils-1.2.5-r10
alpine-keys-2.5-r0 ncurses-terminfo-base-6.5_p20250503-r0 ncurses-libs-6.5_p20250503-r0 readline-8.2.13-r1 bash-5.2.37-r0
libcurl-8.14.1-r1 curl-8.14.1-r1 nghttp2-libs-1.65.0-r0 brotli-libs-1.1.0-r2 c-ares-1.34.5-r0 libidn2-2.3.7-r0
zstd-libs-1.5.7-r0 xz-libs-5.8.1-r0 openssl-3.5.1-r0 git-2.49.1-r0 pcre2-10.43-r1 libffi-3.4.8-r0 libgcc-14.2.0-r6
libstdc++-14.2.0-r6 gcc-14.2.0-r6 make-4.4.1-r3 musl-dev-1.2.5-r10 tzdata-2025b-r0 python3-3.12.11-r0 py3-pip-25.1.1-r0
openssh-client-10.0_p1-r7 sudo-1.9.17_p1-r0 iproute2-6.15.0-r0 jq-1.8.0-r0 nginx-1.28.0-r3 nodejs-22.16.0-r2`.split(/\s+/)

const RELEASES: ReadonlyArray<readonly [string, number]> = [
  ['latest-releases.yaml', 40],
  [`alpine-minirootfs-${RELEASE}-${ARCH}.tar.gz`, 25],
  [`alpine-minirootfs-${RELEASE}-${ARCH}.tar.gz.sha256`, 10],
  [`alpine-virt-${RELEASE}-${ARCH}.iso`, 10],
  [`alpine-standard-${RELEASE}-${ARCH}.iso`, 8],
  [`alpine-extended-${RELEASE}-${ARCH}.iso`, 4],
  [`alpine-netboot-${RELEASE}-${ARCH}.tar.gz`, 3]
]

export const MIX = { package: 0.85, index: 0.10, release: 0.05 } as const

function weightedPick<T> (items: ReadonlyArray<readonly [T, number]>, random: Random): () => T {
  const total = items.reduce((s, [, w]) => s + w, 0)
  return () => {
    let r = random.float() * total
    for (const [item, w] of items) if ((r -= w) < 0) return item
    return (items[items.length - 1] as readonly [T, number])[0]
  }
}

/** A generator of request paths (below the prefix, as the redirect handler's `rest`). */
export function pathPicker (random: Random): () => string {
  const pkg = weightedPick(PACKAGES.map((p, rank) => [`${BRANCH}/main/${ARCH}/${p}.apk`, 1 / (rank + 1)] as const), random)
  const release = weightedPick(RELEASES.map(([f, w]) => [`${BRANCH}/releases/${ARCH}/${f}`, w] as const), random)
  return () => {
    const kind = random.float()
    if (kind < MIX.package) return pkg()
    if (kind < MIX.package + MIX.index) return `${BRANCH}/${random.float() < 0.6 ? 'main' : 'community'}/${ARCH}/APKINDEX.tar.gz`
    return release()
  }
}
