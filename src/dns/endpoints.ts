// The hosts DNS may hand out for the download name: redirector instances from the config
// and mirrors whose table entry says they serve that name under their own Host. Everything
// here is derived from the live state's snapshot: a mirror's health as the HTTP side sees
// it, an instance's from its health URL (checked by the one prober, src/probes/). Ranking is
// the same selection rule, over sites rather than mirrors.

import { COUNTRIES, type Continent } from '../core/countries.js'
import { fnv1a32 } from '../core/hash.js'
import { orderForNetwork, rankSites, type SelectionPolicy } from '../core/selection.js'
import type { Snapshot } from '../core/snapshot.js'
import type { Family, Place, Site } from '../core/types.js'
import type { DnsConfig } from '../config/schema.js'
import { Listeners } from '../listeners.js'

export interface Endpoint {
  readonly id: string
  readonly kind: 'instance' | 'mirror'
  readonly country: string
  readonly latitude: number
  readonly longitude: number
  readonly weight: number
  readonly ipv4: readonly string[]
  readonly ipv6: readonly string[]
  /** Whether it may be handed out at all: some family of its addresses is healthy. */
  readonly healthy: boolean
  /** Per IP family: whether its addresses of that family may be handed out (a mirror's IPv6 can fail alone). */
  readonly families: Readonly<Record<Family, boolean>>
  /** Why it is not healthy, in words fit for the public (no operator notes); null when healthy. */
  readonly reason: string | null
}

const NO_RESTRICTIONS = Object.freeze({ onlyCountries: [], onlyContinents: [], excludeCountries: [] })

const split = (addresses: readonly string[]): { ipv4: string[], ipv6: string[] } => ({
  ipv4: addresses.filter((a) => !a.includes(':')),
  ipv6: addresses.filter((a) => a.includes(':'))
})

/** Every endpoint, healthy or not, from the configured instances and the snapshot's mirrors. */
export function endpointsOf (dns: DnsConfig, snapshot: Snapshot): Endpoint[] {
  const list: Endpoint[] = []
  for (const e of dns.endpoints) {
    const h = snapshot.endpointHealth(e.id)
    const down = e.health !== null && h.state === 'down'
    list.push({
      id: e.id, kind: 'instance', country: e.country, latitude: e.latitude, longitude: e.longitude, weight: e.weight,
      ...split(e.addresses),
      healthy: !down,
      families: { 4: !down, 6: !down },
      reason: down ? `health check failing: ${h.lastError?.message ?? 'unknown'}` : null
    })
  }
  for (const s of snapshot.mirrors) {
    const m = s.mirror
    if (!m.enabled || m.addresses.length === 0 || !m.dnsNames.includes(dns.name)) continue
    // Serving indexes over plain http is what a DNS-directed apk client will ask of it, per family.
    const addresses = split(m.addresses)
    const v4 = s.serving[4].http.volatile
    const v6 = s.serving[6].http.volatile
    const families = { 4: addresses.ipv4.length > 0 && v4 === null, 6: addresses.ipv6.length > 0 && v6 === null }
    const healthy = families[4] || families[6]
    list.push({
      id: m.id, kind: 'mirror', country: m.country, latitude: m.latitude, longitude: m.longitude, weight: m.weight,
      ...addresses,
      healthy,
      families,
      reason: healthy ? null : (v4 ?? v6)?.reason ?? null
    })
  }
  return list
}

/** An endpoint as the selection ranks it: a site, enabled while healthy. */
function siteOf (e: Endpoint): Site {
  return {
    id: e.id,
    country: e.country,
    // The config and the table validate every country code.
    continent: (COUNTRIES.get(e.country) as { continent: Continent }).continent,
    latitude: e.latitude,
    longitude: e.longitude,
    asns: [],
    weight: e.weight,
    ipv4: e.ipv4.length > 0 && e.families[4],
    ipv6: e.ipv6.length > 0 && e.families[6],
    restrictions: NO_RESTRICTIONS,
    enabled: e.healthy,
    seed: fnv1a32(e.id)
  }
}

export class EndpointDirectory {
  readonly #dns: DnsConfig
  readonly #selection: SelectionPolicy
  readonly #listeners = new Listeners<[]>()
  #endpoints: readonly Endpoint[] = []
  #byId = new Map<string, Endpoint>()
  #sites: readonly Site[] = []
  #signature = ''

  constructor (dns: DnsConfig, selection: SelectionPolicy, live: { readonly snapshot: Snapshot, subscribe (listener: (next: Snapshot) => void): unknown }) {
    this.#dns = dns
    this.#selection = selection
    live.subscribe((next) => this.#refresh(next))
    this.#refresh(live.snapshot)
  }

  /** Every endpoint, healthy or not. */
  get endpoints (): readonly Endpoint[] { return this.#endpoints }

  get (id: string): Endpoint | undefined { return this.#byId.get(id) }

  /** Called when some endpoint's health or address set changed; returns the unsubscribe. */
  onChange (listener: () => void): () => void {
    return this.#listeners.add(listener)
  }

  #refresh (snapshot: Snapshot): void {
    const list = endpointsOf(this.#dns, snapshot)
    const signature = list.map((e) => `${e.id}:${e.families[4] ? 1 : 0}${e.families[6] ? 1 : 0}:${e.ipv4.join(',')}:${e.ipv6.join(',')}`).join('|')
    if (signature === this.#signature) return
    this.#signature = signature
    this.#endpoints = Object.freeze(list)
    this.#byId = new Map(list.map((e) => [e.id, e]))
    this.#sites = list.map(siteOf)
    this.#listeners.emit()
  }

  /**
   * The healthy endpoints with addresses of `family` for a client at `place` (its network
   * key gives stickiness), best first; empty when none is healthy.
   */
  rank (place: Place, network: string, family: Family): Endpoint[] {
    const client = { place, family, scheme: 'http' as const, network }
    const ranked = orderForNetwork(rankSites(this.#sites, client, this.#selection), network).ranked
    return ranked.map((r) => this.#byId.get(r.site.id) as Endpoint)
  }
}
