// `mirrorgate serve`: the service, exactly as `node dist/main.js` (`npm start`) runs it, with
// the same flags and environment. One difference: a bad command line, config or table exits 2
// (invalid input), checked before anything listens; a failure after that exits 1 as before.

import cluster from 'node:cluster'
import { USAGE, loadConfig } from '../config/load.js'
import { loadTableFile } from '../config/table-file.js'
import { MgError } from '../errors.js'
import { runServer } from '../main.js'
import { EXIT, parseFlags, type Command } from './io.js'

export const SERVE_USAGE = `${USAGE.replace(/^usage: mirrorgate /, 'usage: mirrorgate serve ')}
  --help          this text
Also read from the environment: MIRRORGATE_ADMIN_TOKEN (admin API bearer token) and
LOG_LEVEL (pino level, default info). Logs are JSON lines on stdout.
Signals: SIGTERM/SIGINT finish the requests in flight and exit 0; SIGHUP re-reads the mirror
table; SIGUSR2 replaces cluster workers one by one.

Exit status: 0 after a stop signal, 2 a bad command line, config or table, 1 any other
failure to start or to stop.`

export const serveCommand: Command = async (argv, io, env) => {
  const { values } = parseFlags(argv, {
    config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, workers: { type: 'string' }
  }, false)
  if (values.help === true) {
    io.stdout.write(SERVE_USAGE + '\n')
    return EXIT.ok
  }
  // Cluster workers run this command line again; the primary has checked it already.
  if (!cluster.isWorker) {
    try {
      await loadTableFile(loadConfig(argv, env).table)
    } catch (err) {
      if (!(err instanceof MgError)) throw err
      io.stderr.write(`mirrorgate: cannot start: ${err.code}: ${err.message}\n`)
      return EXIT.invalid
    }
  }
  await runServer(argv, env)
  return null
}
