// Callbacks for one kind of event: the one way parts of mirrorgate tell each other of changes.

export type Listener<A extends unknown[]> = (...args: A) => void

export class Listeners<A extends unknown[]> {
  readonly #set = new Set<Listener<A>>()

  /** Adds a listener; returns the function that removes it. */
  add (listener: Listener<A>): () => void {
    this.#set.add(listener)
    return () => { this.#set.delete(listener) }
  }

  /** Calls every listener, in the order they were added. */
  emit (...args: A): void {
    for (const listener of this.#set) listener(...args)
  }
}
