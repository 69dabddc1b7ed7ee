// The planner's one kind of error: bad input, reported in one line with a non-zero exit.

export class PlanError extends Error {
  override name = 'PlanError'
}
