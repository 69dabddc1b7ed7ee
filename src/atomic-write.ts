// Replaces a file atomically, so a reader (geodns and gdnsd watching the DNS exports, a
// mirrorgate reloading its table or its probe state) sees the old file or the new, never half
// of one: a temporary file in the same folder, flushed, renamed over the old one, then the
// folder flushed so that the rename survives a crash too. The temporary file is a dot-file
// ending in .tmp, which nothing loads (geodns, for one, loads only *.json).

import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Replaces `file` with `text` (0o644 before the umask); the folder must exist. */
export async function writeAtomically (file: string, text: string): Promise<void> {
  const dir = dirname(file)
  const temporary = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const handle = await open(temporary, 'wx', 0o644)
    try {
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, file)
  } catch (err) {
    await rm(temporary, { force: true }).catch(() => {})
    throw err
  }
  await syncFolder(dir)
}

/** Failures of a folder fsync that mean the platform or file system cannot do it, not that it went wrong. */
const CANNOT_SYNC_FOLDER: ReadonlySet<string | undefined> = new Set(['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOTSUP', 'EOPNOTSUPP', 'EBADF'])

/** Makes a rename in `dir` durable where the platform allows; the file itself is safe either way. */
async function syncFolder (dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch (err) {
    if (!CANNOT_SYNC_FOLDER.has((err as NodeJS.ErrnoException).code)) throw err
  }
}
