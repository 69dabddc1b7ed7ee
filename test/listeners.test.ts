// src/listeners.ts: every listener hears every event, in order; a removed one no longer does.

import t from 'tap'
import { Listeners } from '../src/listeners.js'

t.test('emit calls each listener in the order added, with the arguments; the returned function removes one', async (t) => {
  const listeners = new Listeners<[n: number, s: string]>()
  const heard: string[] = []
  listeners.add((n, s) => { heard.push(`a ${n} ${s}`) })
  const removeB = listeners.add((n, s) => { heard.push(`b ${n} ${s}`) })
  listeners.emit(1, 'x')
  removeB()
  removeB() // twice is harmless
  listeners.emit(2, 'y')
  t.same(heard, ['a 1 x', 'b 1 x', 'a 2 y'])
})
