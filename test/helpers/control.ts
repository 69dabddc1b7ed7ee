// A Control for apps under test that must never reload, drain or probe: each call fails loudly.

import type { Control } from '../../src/live/control.js'

const refuse = async (): Promise<never> => { throw new Error('not in this test') }

export const inertControl: Control = { persistent: false, reload: refuse, drain: refuse, undrain: refuse, probeNow: refuse }
