// The importer's one kind of error: bad usage or bad input, reported in one line with exit 2.

export class ImportError extends Error {
  override name = 'ImportError'
}
