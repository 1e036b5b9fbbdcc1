// A real VS Code for tests: code-server installed offline into a cache folder, started on 127.0.0.1, and its
// workbench driven by Debian's Chromium through playwright-core. See /work/shared/notes/real-vscode-e2e.md
// for why each install step is there: a plain `npm install code-server` needs downloads this network refuses.
import { spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

/** The last code-server line built on VS Code 1.100, the last VS Code whose server runs on Node 20. */
export const CODE_SERVER_VERSION = '4.100.3';

const repoRoot = resolve(import.meta.dirname, '..', '..');
export const defaultCacheDir = join(repoRoot, '.cache', 'code-server');

/**
 * Build dependencies of code-server's native modules, ripgrep for search, the browser that drives it, and
 * unzip to look inside .vsix files.
 */
const debianPackages = [
  'libkrb5-dev',
  'libxkbfile-dev',
  'libsecret-1-dev',
  'libx11-dev',
  'pkg-config',
  'ripgrep',
  'chromium',
  'fonts-dejavu-core',
  'unzip',
];
const debianToolPackages = { 'g++': 'g++', make: 'make', python3: 'python3' };

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Runs a command to completion and returns its output; a failure throws with the output's tail, because
 * npm and node-gyp explain their errors at the end.
 */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) {
    const why = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    throw new Error(`${command} ${args.join(' ')} failed (${why}):\n${output.slice(-4000)}`);
  }
  return output;
}

function debianPackageInstalled(name) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

function commandAvailable(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** Installs the Debian packages code-server and Chromium need, running `apt-get update` only when one is missing. */
export function ensureDebianPackages(log = console.log) {
  const missing = [
    ...debianPackages.filter((name) => !debianPackageInstalled(name)),
    ...Object.entries(debianToolPackages)
      .filter(([tool]) => !commandAvailable(tool))
      .map(([, name]) => name),
  ];
  if (missing.length === 0) return;
  const [command, ...prefix] = process.getuid?.() === 0 ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  const apt = (...args) =>
    run(command, [...prefix, ...args], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  log(`apt-get install ${missing.join(' ')}`);
  apt('update', '-q');
  apt('install', '-y', '-q', '--no-install-recommends', ...missing);
}

/** node-gyp as npm bundles it, with the Node headers installed next to this Node, so nothing is downloaded. */
function nodeGyp() {
  const prefix = resolve(dirname(process.execPath), '..');
  const script = join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(script)) throw new Error(`node-gyp not found at ${script}`);
  if (!existsSync(join(prefix, 'include', 'node', 'node.h'))) {
    throw new Error(
      `Node headers not found under ${prefix}/include/node; node-gyp would try to download them`,
    );
  }
  return (cwd) => run(process.execPath, [script, 'rebuild', `--nodedir=${prefix}`, '--jobs=max'], { cwd });
}

/**
 * Installs code-server into `cacheDir/<version>` unless it is already there, and returns the path of its
 * entry script. The install happens in a scratch folder that is renamed into place only when complete, so an
 * interrupted run never leaves a half-installed server to be reused.
 */
export function installCodeServer({ cacheDir = defaultCacheDir, log = console.log } = {}) {
  const target = join(cacheDir, CODE_SERVER_VERSION);
  const entry = join(target, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (existsSync(entry)) return entry;

  ensureDebianPackages(log);
  const scratch = join(cacheDir, `${CODE_SERVER_VERSION}.partial-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  // Without a package.json of its own, npm would walk up and install into the repository's node_modules.
  writeFileSync(join(scratch, 'package.json'), '{ "name": "code-server-cache", "private": true }\n');
  const npm = (cwd, ...args) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd });

  log(`npm install code-server@${CODE_SERVER_VERSION}`);
  npm(scratch, 'install', '--ignore-scripts', `code-server@${CODE_SERVER_VERSION}`);
  const codeServer = join(scratch, 'node_modules', 'code-server');
  const vscode = join(codeServer, 'lib', 'vscode');
  log('npm install (code-server/lib/vscode)');
  npm(vscode, 'install', '--omit=dev', '--ignore-scripts');

  const gyp = nodeGyp();
  // native-watchdog is not in the notes' list; without it the extension host logs an error at every start.
  for (const module of ['kerberos', 'node-pty', '@vscode/spdlog', 'native-watchdog']) {
    log(`node-gyp rebuild ${module}`);
    gyp(join(vscode, 'node_modules', module));
  }
  const ripgrepBin = join(vscode, 'node_modules', '@vscode', 'ripgrep', 'bin');
  mkdirSync(ripgrepBin, { recursive: true });
  symlinkSync('/usr/bin/rg', join(ripgrepBin, 'rg'));
  // What code-server's own postinstall script would have done.
  symlinkSync('node_modules', join(vscode, 'node_modules.asar'));
  symlinkSync('code-linux.sh', join(vscode, 'bin', 'remote-cli', 'code-server'));
  symlinkSync('browser-linux.sh', join(vscode, 'bin', 'helpers', 'browser.sh'));
  log('npm rebuild argon2');
  npm(scratch, 'rebuild', 'argon2');

  const builtEntry = join(codeServer, 'out', 'node', 'entry.js');
  run(process.execPath, [builtEntry, '--version']);
  rmSync(target, { recursive: true, force: true });
  renameSync(scratch, target);
  return entry;
}

/**
 * User settings that keep the workbench quiet and predictable for tests: no welcome page over the editor
 * area, no git prompt about the repository around a scratch folder, no update or telemetry traffic.
 */
export const quietSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
};

export function writeUserSettings(userDataDir, settings = quietSettings) {
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

function serverArgs({ userDataDir, extensionsDir }) {
  return ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
}

/** Installs a .vsix the way a user would, with the server's own `--install-extension`. */
export function installExtension({ entry, vsix, userDataDir, extensionsDir }) {
  return run(process.execPath, [
    entry,
    ...serverArgs({ userDataDir, extensionsDir }),
    '--install-extension',
    vsix,
  ]);
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/**
 * Starts code-server on 127.0.0.1 and a free port, without auth, logging to `logFile`. It runs in its own
 * process group, so `stop()` ends the server and everything it spawned (extension host, engine host) by pid.
 * `env`: variables added to this process's environment for the server and all it spawns (a test's PATH).
 */
export async function startCodeServer({
  entry,
  userDataDir,
  extensionsDir,
  logFile,
  env = {},
  timeoutMs = 60_000,
}) {
  const port = await freePort();
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      entry,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      // Its own config file, so the test never writes a password into ~/.config/code-server.
      '--config',
      join(userDataDir, 'code-server.yaml'),
      ...serverArgs({ userDataDir, extensionsDir }),
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((done) => child.once('exit', (code, signal) => done(signal ?? code)));
  const url = `http://127.0.0.1:${port}`;

  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: nothing is left in the group.
    }
  };
  // The server gets a chance to shut down cleanly; whatever of its group outlives it is killed.
  const stop = async () => {
    signalGroup('SIGTERM');
    await new Promise((done) => {
      const timer = setTimeout(done, 5000);
      exited.then(() => {
        clearTimeout(timer);
        done();
      });
    });
    signalGroup('SIGKILL');
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited before it was ready (${await exited}); see ${logFile}`);
    }
    const healthy = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${url} within ${timeoutMs} ms; see ${logFile}`);
    }
    await sleep(250);
  }
  return { url, port, pid: child.pid, stop };
}

export function launchChromium() {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

/** Opens the workbench on `folder` and waits until it has rendered. */
export async function openWorkbench(browser, serverUrl, folder, { timeoutMs = 90_000 } = {}) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${serverUrl}/?folder=${encodeURIComponent(folder)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
  // The status bar fills in once the workbench has restored its parts; before that, keys can get lost.
  await page.locator('.part.statusbar').waitFor({ timeout: timeoutMs });
  return page;
}

/**
 * Opens the quick input with `key` (F1: the command palette, Control+P: Quick Open), types `text` and returns the
 * first row that shows `rowText`, reopening until it does. An extension's commands reach the palette only once
 * the extension host has registered them, and an open palette never refreshes its list; the widget can also close
 * again at once while focus settles (after a dialog, a webview or a reload; seen on a loaded machine). Each
 * failed attempt is tried again until `timeoutMs`.
 */
export async function quickInputRow(page, { key, text, rowText, what, timeoutMs = 30_000 }) {
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: rowText }).first();
  const deadline = Date.now() + timeoutMs;
  let lastFailure = '';
  for (;;) {
    const listed = await (async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press(key);
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(text, { timeout: 5000 });
      await row.waitFor({ state: 'visible', timeout: 3000 });
      return true;
    })().catch((error) => {
      lastFailure = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return false;
    });
    if (listed) return row;
    if (Date.now() > deadline) throw new Error(`${what} did not work in ${timeoutMs} ms: ${lastFailure}`);
  }
}

/**
 * Runs a command by its full title ("Category: Title") from the command palette, as a user would.
 * `opensQuickInput`: the command shows a quick pick, input box or file dialog at once, in the same widget, so the
 * palette is not waited on to close.
 */
export async function runCommand(page, title, { timeoutMs = 30_000, opensQuickInput = false } = {}) {
  const row = await quickInputRow(page, {
    key: 'F1',
    text: `>${title}`,
    rowText: title,
    what: `running "${title}" from the command palette`,
    timeoutMs,
  });
  // A click, not Enter: the first row can be a recently used or "similar" command.
  await row.click();
  if (!opensQuickInput)
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: timeoutMs });
}

/** The text of every notification toast on screen, for failure messages. */
export async function notificationTexts(page) {
  return (await page.locator('.notification-toast').allInnerTexts()).map((text) =>
    text.replace(/\u00a0/g, ' '),
  );
}

/** Every file under `dir` whose name matches `pattern`, depth first. */
export function findFiles(dir, pattern) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findFiles(path, pattern);
    return pattern.test(entry.name) ? [path] : [];
  });
}

export function tail(path, lines = 60) {
  if (!existsSync(path)) return `(no ${path})`;
  return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
}

export async function screenshot(page, dir, name) {
  mkdirSync(dir, { recursive: true });
  await writeFile(join(dir, `${name}.png`), await page.screenshot());
}
