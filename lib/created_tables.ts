/**
 * The shadow schema's tables as the structure step creates them, for the copy step, which starts
 * on a table as soon as the pre-data transaction that completes it has committed, while the
 * structure step goes on with the next ones. Both steps wait on I/O (each new table's and index's
 * files are synced), not on each other.
 *
 * @example
 * ```ts
 * import { CreatedTables } from "./created_tables.ts";
 * const created = new CreatedTables();
 * // structure step:
 * created.planned(new Map([["a", 0], ["b", 1]]), 2);
 * created.committed(0);
 * // copy step:
 * await created.after(0, AbortSignal.timeout(1000)); // 1: "a" may be copied
 * ```
 * @module
 */

/** Which tables exist in the shadow schema so far; see the module's documentation. */
export class CreatedTables {
  #completedBy?: ReadonlyMap<string, number>;
  #transactions = 0;
  #committed = 0;
  #waiting: (() => void)[] = [];

  /**
   * The structure step's plan, before its first transaction: per table, the transaction (from 0,
   * of `transactions`) that completes it.
   *
   * @example
   * ```ts
   * new CreatedTables().planned(new Map([["orders", 0]]), 1);
   * ```
   */
  planned(completedBy: ReadonlyMap<string, number>, transactions: number): void {
    this.#completedBy = completedBy;
    this.#transactions = transactions;
    this.#wake();
  }

  /**
   * Transaction `index` committed (they commit in order).
   *
   * @example
   * ```ts
   * const created = new CreatedTables();
   * created.planned(new Map([["orders", 0]]), 1);
   * created.committed(0);
   * ```
   */
  committed(index: number): void {
    this.#committed = Math.max(this.#committed, index + 1);
    this.#wake();
  }

  /**
   * The plan, once the structure step made it: per table, the transaction that completes it.
   * Throws when `signal` aborts first (the structure step failed, or the job stopped).
   *
   * @example
   * ```ts
   * declare const created: CreatedTables;
   * const completedBy = await created.plan(AbortSignal.timeout(60_000));
   * completedBy.get("orders"); // 0
   * ```
   */
  async plan(signal: AbortSignal): Promise<ReadonlyMap<string, number>> {
    await this.#until(signal, () => this.#completedBy !== undefined);
    return this.#completedBy!;
  }

  /**
   * Waits until more than `count` transactions committed, or all of them, and returns how many
   * have. Throws when `signal` aborts first.
   *
   * @example
   * ```ts
   * declare const created: CreatedTables;
   * const committed = await created.after(0, AbortSignal.timeout(60_000));
   * ```
   */
  async after(count: number, signal: AbortSignal): Promise<number> {
    await this.#until(
      signal,
      () =>
        this.#completedBy !== undefined &&
        (this.#committed > count || count >= this.#transactions),
    );
    return this.#committed;
  }

  async #until(signal: AbortSignal, done: () => boolean): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      if (done()) return;
      const { promise, resolve } = Promise.withResolvers<void>();
      const wake = () => resolve();
      this.#waiting.push(wake);
      signal.addEventListener("abort", wake, { once: true });
      await promise;
      signal.removeEventListener("abort", wake);
    }
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}
