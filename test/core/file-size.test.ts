// The sizes the master's indexes list, for whoever turns redirects into bytes.

import t from 'tap'
import { EMPTY_COVERAGE, fileSize, pathFacts, type Coverage } from '../../src/core/coverage.js'
import { addVersion } from '../../src/core/file-set.js'

t.test('fileSize reads S: from the newest or an older kept version', async (t) => {
  const v1 = addVersion(null, 'v3.22/main/x86_64/APKINDEX.tar.gz', { lastModified: 1000, size: 10, etag: null },
    [{ name: 'a-1.0-r0.apk', size: 4096 }, { name: 'b-1.0-r0.apk', size: null }], 1000)
  const v2 = addVersion(v1, v1.path, { lastModified: 2000, size: 11, etag: null }, [{ name: 'a-1.1-r0.apk', size: 5000 }, { name: 'b-1.0-r0.apk', size: 77 }], 2000)
  const coverage: Coverage = { ...EMPTY_COVERAGE, indexes: new Map([[v2.dir, v2]]) }
  t.equal(fileSize(coverage, pathFacts('v3.22/main/x86_64/a-1.1-r0.apk')), 5000)
  t.equal(fileSize(coverage, pathFacts('v3.22/main/x86_64/a-1.0-r0.apk')), 4096, 'a file only the older version lists')
  t.equal(fileSize(coverage, pathFacts('v3.22/main/x86_64/b-1.0-r0.apk')), 77, 'a size the newer version gives fills one the older lacked')
  t.equal(fileSize(coverage, pathFacts('v3.22/main/x86_64/c-1.0-r0.apk')), null, 'not listed')
  t.equal(fileSize(coverage, pathFacts('v3.21/main/x86_64/a-1.1-r0.apk')), null, 'a folder not followed')
  t.equal(fileSize(coverage, null), null)
})
