// The example configuration documents the defaults: it must load, and say exactly them.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parse } from 'yaml'
import { configFromDocument, DEFAULTS } from '../../src/config/schema.js'

t.test('data/mirrorgate.example.yaml loads and matches the built-in defaults', async (t) => {
  const file = join(import.meta.dirname, '..', '..', 'data', 'mirrorgate.example.yaml')
  const config = configFromDocument(parse(readFileSync(file, 'utf8')), file, dirname(file))
  t.same({ ...config, source: null }, { ...DEFAULTS }, 'every value in the example is the default')
  t.equal(config.source, file)
})
