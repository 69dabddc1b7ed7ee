// src/atomic-write.ts: the file is replaced in one step (a new inode, renamed into place), with
// mode 0o644 before the umask, and a failed write leaves the old file and no temporary file.

import t from 'tap'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeAtomically } from '../src/atomic-write.js'

t.test('replaces the file in one step, leaving nothing else', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'table.yaml')
  writeFileSync(file, 'old\n')
  const before = statSync(file).ino
  await writeAtomically(file, 'new\n')
  t.equal(readFileSync(file, 'utf8'), 'new\n')
  t.not(statSync(file).ino, before, 'a new inode: renamed into place, never written in place')
  t.equal(statSync(file).mode & 0o777, 0o644 & ~process.umask())
  t.same(readdirSync(dir), ['table.yaml'])
})

t.test('a missing folder is an error, not a folder made', async (t) => {
  const dir = t.testdir()
  await t.rejects(writeAtomically(join(dir, 'none', 'table.yaml'), 'x\n'), { code: 'ENOENT' })
  t.same(readdirSync(dir), [])
})

t.test('a failed rename keeps the old file and removes the temporary one', async (t) => {
  const dir = t.testdir({ 'busy.json': { 'inside.txt': 'a folder where the file should be' } })
  await t.rejects(writeAtomically(join(dir, 'busy.json'), '{}\n'))
  t.same(readdirSync(dir), ['busy.json'])
  t.same(readdirSync(join(dir, 'busy.json')), ['inside.txt'])
})
