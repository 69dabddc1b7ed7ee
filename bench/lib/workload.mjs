// The request mix: distinct client addresses (sent as X-Forwarded-For) paired with apk paths.
// Deterministic for a given seed, so every target and every round sees the same requests.
//
// Addresses: ~85% IPv4 drawn uniformly from public unicast space (so countries follow real
// allocation: many US/CN/EU addresses, a long tail elsewhere), ~15% IPv6 from large
// RIR-allocated blocks. Never private, loopback, link-local, CGN, documentation, benchmark,
// multicast or reserved ranges.
//
// Paths: ~85% package files, ~10% APKINDEX.tar.gz, ~5% release images and latest-releases.yaml.

import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** The workload seed run.mjs and paired.mjs use unless told otherwise. */
export const WORKLOAD_SEED = 662302

/** mulberry32: a small, fast, seedable 32-bit PRNG. Returns floats in [0, 1). */
export function prng (seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    float: next,
    int: (n) => Math.floor(next() * n),
    u32: () => Math.floor(next() * 4294967296) >>> 0,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    /** Picks from [[item, weight], ...]. */
    weighted (pairs) {
      let total = 0
      for (const [, w] of pairs) total += w
      let r = next() * total
      for (const [item, w] of pairs) { if ((r -= w) < 0) return item }
      return pairs[pairs.length - 1][0]
    },
    /** Like weighted(), for a long list picked from many times: binary search over cumulative weights. */
    sampler (pairs) {
      const items = pairs.map(([item]) => item)
      const cumulative = new Float64Array(pairs.length)
      let total = 0
      pairs.forEach(([, w], i) => { total += w; cumulative[i] = total })
      return () => {
        const r = next() * total
        let lo = 0
        let hi = cumulative.length - 1
        while (lo < hi) {
          const mid = (lo + hi) >> 1
          if (cumulative[mid] > r) hi = mid
          else lo = mid + 1
        }
        return items[lo]
      }
    }
  }
}

// IPv4 ranges that are not public unicast (RFC 6890 and friends), as [first, last] u32.
const V4_EXCLUDED = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.31.196.0', 24], ['192.52.193.0', 24],
  ['192.88.99.0', 24], ['192.168.0.0', 16], ['192.175.48.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4]
].map(([ip, len]) => {
  const first = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
  return [first, first + 2 ** (32 - len) - 1]
})

export function isPublicV4 (n) {
  for (const [lo, hi] of V4_EXCLUDED) if (n >= lo && n <= hi) return false
  // Skip .0 and .255 host octets: legal, but rarely a real client.
  const last = n & 255
  return last !== 0 && last !== 255
}

const v4Text = (n) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`

// Large, well-allocated IPv6 blocks (all inside 2000::/3, none of 2001:db8::/32 or 3fff::/20).
// [first 16-bit group base, bits fixed in the first 32 bits, weight]
const V6_BLOCKS = [
  { name: '2a00::/12 (RIPE NCC)', hi: 0x2a00_0000, bits: 12, weight: 40 },
  { name: '2001:0200::/23 (APNIC)', hi: 0x2001_0200, bits: 23, weight: 8 },
  { name: '2400::/12 (APNIC)', hi: 0x2400_0000, bits: 12, weight: 22 },
  { name: '2600::/12 (ARIN)', hi: 0x2600_0000, bits: 12, weight: 22 },
  { name: '2800::/12 (LACNIC)', hi: 0x2800_0000, bits: 12, weight: 8 }
]

function v6Address (rnd) {
  const block = rnd.weighted(V6_BLOCKS.map((b) => [b, b.weight]))
  const freeBits = 32 - block.bits
  const top = (block.hi | (rnd.u32() & ((2 ** freeBits - 1) >>> 0))) >>> 0
  const groups = [top >>> 16, top & 0xffff]
  // Networks are mostly allocated as /32../48: vary groups 3 (the /48) and the interface id.
  groups.push(rnd.int(0x10000), rnd.int(0x100), 0, 0, rnd.int(0x10000), 1 + rnd.int(0xfffe))
  return groups.map((g) => g.toString(16)).join(':')
}

// ---- paths -------------------------------------------------------------------------------

const BRANCHES = [['v3.22', 40], ['edge', 20], ['v3.21', 25], ['v3.20', 15]]
const ARCHES = [['x86_64', 70], ['aarch64', 30]]
const RELEASE = { 'v3.22': '3.22.2', 'v3.21': '3.21.5', 'v3.20': '3.20.8' }

// Real Alpine package names (main and community). Popular ones first: the mix is Zipf-like.
const MAIN = `musl busybox alpine-baselayout alpine-baselayout-data apk-tools libcrypto3 libssl3 zlib ca-certificates
ca-certificates-bundle ssl_client scanelf musl-utils libc-utils alpine-keys libapk2 ncurses-terminfo-base ncurses-libs
readline bash libcurl curl nghttp2-libs brotli-libs c-ares libidn2 libunistring libpsl zstd-libs xz-libs libbz2 openssl
git pcre2 expat libexpat libffi libgcc libstdc++ gmp mpfr4 mpc1 isl26 binutils gcc g++ make musl-dev libc-dev fortify-headers
linux-headers pkgconf patch tar gzip xz bzip2 coreutils findutils grep sed gawk diffutils file libmagic tzdata sqlite-libs
python3 python3-pyc py3-pip py3-setuptools py3-packaging py3-parsing py3-six py3-certifi py3-urllib3 py3-idna
py3-charset-normalizer py3-requests perl perl-error git-perl openssh openssh-client openssh-keygen openssh-server
openssh-sftp-server libedit shadow sudo doas tini su-exec iproute2 iptables ip6tables libmnl libnftnl nftables iputils
bind-tools libuv lz4-libs libsodium libxml2 libxslt icu-libs icu-data-full krb5-libs keyutils-libs libverto libcom_err
e2fsprogs e2fsprogs-libs util-linux libblkid libmount libuuid libfdisk libsmartcols lvm2 device-mapper-libs cryptsetup
openrc alpine-conf mkinitfs kmod linux-lts linux-virt linux-firmware-none syslinux grub grub-efi efibootmgr
dbus dbus-libs glib gettext-libs libintl libmd libbsd libevent tmux vim xxd nano less man-pages mandoc htop strace
rsync libacl libattr attr acl unzip zip wget jq oniguruma yaml libyaml nginx nginx-mod-http-geoip2 apache2 haproxy
lua5.4 lua5.4-libs luajit redis postgresql16 postgresql16-client libpq mariadb-client mariadb-connector-c
nodejs npm go rust cargo llvm17-libs clang17-libs ruby ruby-libs cmake samurai meson ninja autoconf automake libtool
m4 bison flex gperf texinfo help2man docker-cli containerd runc cni-plugins ca-certificates-cacert`.split(/\s+/)
const COMMUNITY = `docker docker-engine docker-cli-compose docker-cli-buildx kubectl helm k3s podman buildah skopeo crun
conmon fuse-overlayfs slirp4netns netavark aardvark-dns containers-common age gnupg gnupg-dirmngr pinentry neovim
neovim-doc ripgrep fd bat fzf zoxide starship eza delta hyperfine tokei btop bottom du-dust zellij helix micro lazygit
gh github-cli glab git-lfs terraform opentofu ansible ansible-core py3-ansible-lint packer consul vault nomad
prometheus prometheus-node-exporter grafana loki promtail alertmanager victoria-metrics telegraf influxdb chrony
caddy traefik envoy tailscale wireguard-tools openvpn strongswan zerotier-one syncthing restic borgbackup rclone
nodejs-current yarn pnpm deno bun openjdk17 openjdk17-jre openjdk21 openjdk21-jre maven gradle kotlin dotnet8-sdk
dotnet8-runtime php83 php83-fpm php83-pdo php83-mbstring composer elixir erlang zig nim crystal julia ocaml ghc
cabal stack R gfortran octave py3-numpy py3-scipy py3-pandas py3-matplotlib py3-pillow ffmpeg ffmpeg-libs
imagemagick graphicsmagick gstreamer pipewire wireplumber mesa-dri-gallium mesa-gl firefox chromium thunderbird
libreoffice gimp inkscape vlc mpv qt5-qtbase qt6-qtbase gtk+3.0 gtk4.0 xorg-server xf86-video-amdgpu sway
hyprland wlroots foot alacritty kitty i3wm polybar dunst rofi`.split(/\s+/)

function versionFor (rnd) {
  const major = rnd.weighted([[0, 20], [1, 30], [2, 25], [3, 10], [4 + rnd.int(20), 15]])
  const parts = [major, rnd.int(40), rnd.int(20)]
  const rel = rnd.weighted([[0, 30], [1, 25], [2, 15], [3 + rnd.int(12), 30]])
  const suffix = rnd.float() < 0.08 ? `_git2025${String(1 + rnd.int(12)).padStart(2, '0')}${String(1 + rnd.int(28)).padStart(2, '0')}` : ''
  return `${parts.join('.')}${suffix}-r${rel}`
}

/** One version per (branch, package): branches differ, as they do on the mirrors. */
function packageCatalogue (rnd) {
  const catalogue = []
  const names = [...MAIN.map((n) => [n, 'main']), ...COMMUNITY.map((n) => [n, 'community'])]
  // Interleave so popularity ranks mix both repositories, with the core of main on top.
  const core = names.slice(0, 40)
  const rest = names.slice(40)
  for (let i = rest.length - 1; i > 0; i--) { const j = rnd.int(i + 1); [rest[i], rest[j]] = [rest[j], rest[i]] }
  for (const [name, repo] of [...core, ...rest]) {
    const versions = {}
    for (const [branch] of BRANCHES) versions[branch] = versionFor(rnd)
    catalogue.push({ name, repo, versions })
  }
  // Zipf(s = 1) popularity over rank.
  return catalogue.map((pkg, rank) => [pkg, 1 / (rank + 1)])
}

function makePathPicker (rnd) {
  const pickPackage = rnd.sampler(packageCatalogue(rnd))
  return function path () {
    const branch = rnd.weighted(BRANCHES)
    const arch = rnd.weighted(ARCHES)
    const kind = rnd.float()
    if (kind < 0.85) {
      const pkg = pickPackage()
      return `/alpine/${branch}/${pkg.repo}/${arch}/${pkg.name}-${pkg.versions[branch]}.apk`
    }
    if (kind < 0.95) {
      const repo = rnd.float() < 0.6 ? 'main' : 'community'
      return `/alpine/${branch}/${repo}/${arch}/APKINDEX.tar.gz`
    }
    const stable = branch === 'edge' ? 'v3.22' : branch
    const v = RELEASE[stable]
    return `/alpine/${stable}/releases/${arch}/` + rnd.weighted([
      ['latest-releases.yaml', 40],
      [`alpine-minirootfs-${v}-${arch}.tar.gz`, 25],
      [`alpine-minirootfs-${v}-${arch}.tar.gz.sha256`, 10],
      [`alpine-virt-${v}-${arch}.iso`, 10],
      [`alpine-standard-${v}-${arch}.iso`, 8],
      [`alpine-extended-${v}-${arch}.iso`, 4],
      [`alpine-netboot-${v}-${arch}.tar.gz`, 3]
    ])
  }
}

/**
 * Builds the workload: `count` distinct addresses, each with a path, shuffled.
 * @returns {{ entries: {ip: string, family: 4|6, path: string}[], stats: object }}
 */
export function buildWorkload ({ count = 100_000, v6Share = 0.15, seed = 0xA1F1E }) {
  const rnd = prng(seed)
  const pathOf = makePathPicker(prng(seed ^ 0x5EED))
  const seen = new Set()
  const entries = []
  const v6Target = Math.round(count * v6Share)
  while (entries.length < v6Target) {
    const ip = v6Address(rnd)
    if (seen.has(ip)) continue
    seen.add(ip)
    entries.push({ ip, family: 6, path: '' })
  }
  while (entries.length < count) {
    const n = rnd.u32()
    if (!isPublicV4(n)) continue
    const ip = v4Text(n)
    if (seen.has(ip)) continue
    seen.add(ip)
    entries.push({ ip, family: 4, path: '' })
  }
  // Shuffle, then assign paths (path order independent of address order).
  for (let i = entries.length - 1; i > 0; i--) { const j = rnd.int(i + 1); [entries[i], entries[j]] = [entries[j], entries[i]] }
  for (const e of entries) e.path = pathOf()
  return { entries, stats: describe(entries) }
}

export function describe (entries) {
  let v6 = 0
  let apk = 0
  let index = 0
  let release = 0
  const paths = new Set()
  const nets = new Set()
  for (const e of entries) {
    if (e.family === 6) v6++
    if (e.path.endsWith('.apk')) apk++
    else if (e.path.endsWith('/APKINDEX.tar.gz')) index++
    else release++
    paths.add(e.path)
    nets.add(e.family === 4 ? e.ip.slice(0, e.ip.lastIndexOf('.')) : e.ip.split(':').slice(0, 3).join(':'))
  }
  const n = entries.length
  const pct = (x) => Math.round((x / n) * 1000) / 10
  return {
    requests: n,
    distinctAddresses: new Set(entries.map((e) => e.ip)).size,
    distinctNetworks: nets.size,
    ipv6Percent: pct(v6),
    apkPercent: pct(apk),
    apkindexPercent: pct(index),
    releasePercent: pct(release),
    distinctPaths: paths.size
  }
}

/** Writes "address path" lines for wrk's Lua script. */
export function writeWorkloadFile (file, entries) {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, entries.map((e) => `${e.ip} ${e.path}`).join('\n') + '\n')
}
