// The check runner that the end-to-end suite (test/e2e/run.mjs) and the .vsix install test
// (test/vsix/install-and-activate.mjs) share: named checks with timings, setup checks that skip the rest when they
// fail, a screenshot of the workbench on failure, and the summary line with the exit status.
import { join } from 'node:path';
import { findFiles, screenshot, tail } from './codeServer.mjs';

/**
 * A runner of named checks whose results go to `resultsDir`. `label` starts the summary line
 * (`<label>: N passed, N failed, N skipped`). `onFailure(page)` runs after a failed check is reported and before
 * its screenshot is taken; `page` is the workbench page while it is open, otherwise undefined. `only`: when given,
 * the checks that are not setup checks run only if their names contain one of these texts (the rest are skipped).
 */
export function createCheckRunner({ resultsDir, label, onFailure, only }) {
  const started = performance.now();
  const seconds = (since = started) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
  const results = [];
  /** The workbench page once it is open, for screenshots of failures. */
  let page;
  let setupFailed = false;
  const count = (status) => results.filter((result) => result.status === status).length;

  /**
   * Runs one check and returns what `body` returns, or undefined when it failed or was skipped. A failed setup
   * check skips everything after it; after a failed check that is not a setup check, the ones after it still run.
   */
  async function check(name, body, { setup = false } = {}) {
    const chosen = setup || !only?.length || only.some((text) => name.includes(text));
    if (setupFailed || !chosen) {
      results.push({ name, status: 'skipped' });
      console.log(`- ${name}: skipped`);
      return undefined;
    }
    const since = performance.now();
    try {
      const value = await body();
      results.push({ name, status: 'passed' });
      console.log(`✔ ${name} (${seconds(since)})`);
      return value;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      results.push({ name, status: 'failed', reason });
      setupFailed ||= setup;
      console.log(`✘ ${name} (${seconds(since)})\n${reason}`);
      const openPage = page && !page.isClosed() ? page : undefined;
      await onFailure?.(openPage);
      if (openPage) {
        await screenshot(openPage, resultsDir, `failed-${results.length}`).catch(() => undefined);
      }
      return undefined;
    }
  }

  return {
    check,
    /** Records a check that is not run at all, with the line that says why. */
    skip(name, line) {
      console.log(line);
      results.push({ name, status: 'skipped' });
    },
    count,
    /**
     * Prints the failed checks again with their reasons (CI keeps only the output's tail, which the logs printed
     * after a failure fill), the artifacts line and the summary line, and sets the exit status: 1 when any check
     * failed.
     */
    summary() {
      for (const { name, reason } of results.filter((result) => result.status === 'failed')) {
        console.log(`\n✘ ${name}\n  ${reason.split('\n').slice(0, 6).join('\n  ')}`);
      }
      console.log(`\nartifacts: ${resultsDir}  total ${seconds()}`);
      console.log(
        `${label}: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`,
      );
      process.exitCode = count('failed') > 0 ? 1 : 0;
    },
    get page() {
      return page;
    },
    set page(value) {
      page = value;
    },
  };
}

/**
 * Calls `probe` every `intervalMs` until it returns something other than undefined, or throws after `timeoutMs`;
 * the error ends with what `lastSeen` returns.
 */
export async function poll(what, probe, timeoutMs, lastSeen = () => '', { intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${await lastSeen()}`);
    }
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

/** Prints the last `lines` lines of the code-server log and of each log under `userDataDir`/logs that matches. */
export function printLogTails({ serverLog, userDataDir, pattern, lines }) {
  console.log(`\n--- code-server log (${serverLog}) ---\n${tail(serverLog, lines)}`);
  for (const file of findFiles(join(userDataDir, 'logs'), pattern)) {
    console.log(`\n--- ${file} ---\n${tail(file, lines)}`);
  }
}
