// Installs the packaged .vsix into a real VS Code (code-server driven by Chromium) and proves that it
// activates and that the native ONNX Runtime addon inside it loads. The first run installs code-server into
// .cache/code-server (a few minutes); later runs reuse it.
// Usage: node test/vsix/install-and-activate.mjs [--vsix <file.vsix>]
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createMessageConnection,
  RequestType0,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import {
  ensureDebianPackages,
  findFiles,
  installCodeServer,
  installExtension,
  launchChromium,
  notificationTexts,
  openWorkbench,
  run,
  runCommand,
  screenshot,
  startCodeServer,
  writeUserSettings,
} from '../e2e/codeServer.mjs';
import { createCheckRunner, poll, printLogTails } from '../e2e/checks.mjs';

const root = resolve(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const extensionId = `${manifest.publisher}.${manifest.name}`;
const activatedLine = `Quantum STT ${manifest.version} activated`;

const resultsDir = join(root, 'test-results', 'vsix');
const userDataDir = join(resultsDir, 'user-data');
const extensionsDir = join(resultsDir, 'extensions');
const workspace = join(resultsDir, 'workspace');
const serverLog = join(resultsDir, 'code-server.log');

const { values: options } = parseArgs({ options: { vsix: { type: 'string' } } });

/** The workbench page once it is open. */
let page;
const checks = createCheckRunner({ resultsDir, label: 'vsix' });
const { check } = checks;

/** The extension host's log, one entry per logged message (continuation lines such as stacks included). */
function extensionHostLogEntries() {
  return findFiles(join(userDataDir, 'logs'), /exthost.*\.log$/).flatMap((file) =>
    readFileSync(file, 'utf8').split(/\n(?=\d{4}-\d\d-\d\d )/),
  );
}

/** Asks an engine host process started from `extensionDir` what it runs on, the way the extension does. */
async function engineHostInfo(extensionDir) {
  const child = spawn(process.execPath, [join(extensionDir, 'dist', 'engine-host.js')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  connection.listen();
  const exited = new Promise((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`engine host exited (${signal ?? code}): ${stderr}`)),
    ),
  );
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('engine host did not answer within 30 s')), 30_000);
  });
  try {
    // The method name mirrors src/service/protocol.ts; a rename there fails this check.
    return await Promise.race([
      connection.sendRequest(new RequestType0('quantumStt/hostInfo')),
      exited,
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    connection.dispose();
    child.kill();
  }
}

rmSync(resultsDir, { recursive: true, force: true });
for (const dir of [userDataDir, extensionsDir, workspace]) mkdirSync(dir, { recursive: true });
writeFileSync(join(workspace, 'notes.md'), '# Scratch workspace for the .vsix install test\n');
writeUserSettings(userDataDir);

let server;
let browser;
let installedDir;
try {
  const entry = await check(
    'code-server installed (cached after the first run)',
    () => {
      ensureDebianPackages();
      return installCodeServer();
    },
    { setup: true },
  );

  const vsix = await check(
    '.vsix packaged with the native addon and nothing else',
    () => {
      const path = options.vsix ? resolve(options.vsix) : join(resultsDir, `${manifest.name}.vsix`);
      if (!options.vsix)
        run(process.execPath, [join(root, 'tools', 'package.mjs'), '--out', path], { cwd: root });
      const entries = run('unzip', ['-Z1', path]).split('\n').filter(Boolean);
      const required = [
        'extension/package.json',
        'extension/dist/extension.js',
        'extension/dist/engine-host.js',
        'extension/dist/mel-worker.js',
        'extension/dist/cli.js',
        'extension/dist/webview.js',
        'extension/dist/silero_vad_v5.onnx',
        'extension/node_modules/onnxruntime-node/dist/index.js',
        'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
        ...findFiles(join(root, 'media'), /./).map((file) => `extension/${relative(root, file)}`),
      ];
      if (process.platform === 'linux' && process.arch === 'x64') {
        required.push(
          'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
          'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
        );
      }
      const missing = required.filter((name) => !entries.includes(name));
      const ortFolders = new Set(
        entries.flatMap((name) => /onnxruntime-node\/bin\/napi-v6\/([^/]+\/[^/]+)\//.exec(name)?.[1] ?? []),
      );
      const unintended = entries.filter((name) =>
        /^extension\/(src|test|webview|tools|\.cache|test-results)\/|\.(ts|map)$/.test(name),
      );
      const problems = [
        ...missing.map((name) => `missing ${name}`),
        ...unintended.map((name) => `unintended ${name}`),
        ...(ortFolders.size === 1
          ? []
          : [`ONNX Runtime binaries for ${[...ortFolders].join(', ') || 'no platform'}`]),
      ];
      if (problems.length > 0) throw new Error(problems.join('\n'));
      return path;
    },
    { setup: true },
  );

  installedDir = await check(
    '.vsix installed with code-server --install-extension',
    () => {
      const output = installExtension({ entry, vsix, userDataDir, extensionsDir });
      if (!/successfully installed/i.test(output)) throw new Error(output);
      const dir = readdirSync(extensionsDir).find((name) =>
        name.startsWith(`${extensionId}-${manifest.version}`),
      );
      if (!dir)
        throw new Error(`no ${extensionId} folder in ${extensionsDir}: ${readdirSync(extensionsDir)}`);
      return join(extensionsDir, dir);
    },
    { setup: true },
  );

  await check(
    'workbench opened in Chromium',
    async () => {
      server = await startCodeServer({ entry, userDataDir, extensionsDir, logFile: serverLog });
      browser = await launchChromium();
      checks.page = page = await openWorkbench(browser, server.url, workspace);
      await screenshot(page, resultsDir, '01-workbench');
    },
    { setup: true },
  );

  await check('"Quantum STT: Show Log" shows the activation line', async () => {
    await runCommand(page, 'Quantum STT: Show Log');
    const output = page.locator('.part.panel .monaco-editor .view-lines');
    await poll(
      `"${activatedLine}" in the output panel`,
      async () =>
        (await output.allInnerTexts())
          .join('\n')
          .replace(/\u00a0/g, ' ')
          .includes(activatedLine)
          ? true
          : undefined,
      30_000,
      undefined,
      { intervalMs: 500 },
    );
    await screenshot(page, resultsDir, '02-show-log');
  });

  await check('"Quantum STT: About" reports the engine host\'s ONNX Runtime backends', async () => {
    await runCommand(page, 'Quantum STT: About');
    const toast = page.locator('.notification-toast', { hasText: 'Quantum STT' }).last();
    await toast.waitFor({ state: 'visible', timeout: 30_000 }).catch(async (error) => {
      throw new Error(
        `${error.message}\nnotifications on screen: ${JSON.stringify(await notificationTexts(page))}`,
      );
    });
    const text = (await toast.innerText()).replace(/\u00a0/g, ' ');
    await toast.evaluate((element) =>
      Promise.all(element.getAnimations({ subtree: true }).map((a) => a.finished)),
    );
    await screenshot(page, resultsDir, '03-about');
    const backends = /ONNX Runtime backends: ([^.]*)\./.exec(text)?.[1]?.split(', ');
    if (!backends?.includes('cpu')) throw new Error(`the About message names no cpu backend:\n${text}`);
    console.log(`  ${text.split('\n')[0]}`);
  });

  // Last of the UI checks, so that anything the extension logged while activating has reached the file.
  await check('extension host log: activated, no errors from the extension', async () => {
    await poll(
      `${extensionId} activation in the extension host log`,
      () =>
        extensionHostLogEntries().some((entry) => entry.includes(`_doActivateExtension ${extensionId}`))
          ? true
          : undefined,
      60_000,
      undefined,
      { intervalMs: 500 },
    );
    const errors = extensionHostLogEntries().filter(
      (entry) => / \[error\] /.test(entry) && entry.includes(manifest.name),
    );
    if (errors.length > 0) throw new Error(errors.join('\n'));
  });

  await check(
    "the installed CLI starts through its shebang line (the engine host's allocator settings)",
    () => {
      const cli = join(installedDir, 'dist', 'cli.js');
      const shebang = readFileSync(cli, 'utf8').split('\n', 1)[0];
      const [program, ...args] = shebang.slice(2).split(' ');
      if (!args.some((arg) => arg.startsWith('MALLOC_MMAP_THRESHOLD_='))) {
        throw new Error(`the CLI's shebang sets no allocator setting: ${shebang}`);
      }
      // As the kernel runs it: the whole rest of the line is one argument, which `env -S` splits.
      const version = run(program, [args.join(' '), cli, '--version']).trim();
      if (version !== manifest.version) throw new Error(`--version printed ${JSON.stringify(version)}`);
      console.log(`  ${shebang} -> ${version}`);
    },
  );

  await check('engine host from the installed folder loads onnxruntime-node', async () => {
    const info = await engineHostInfo(installedDir);
    if (info.version !== manifest.version || !info.onnxruntimeBackends.includes('cpu')) {
      throw new Error(`unexpected host info ${JSON.stringify(info)}`);
    }
    console.log(`  ${JSON.stringify(info)}`);
  });
} finally {
  await browser?.close().catch((error) => console.log(`closing Chromium failed: ${error.message}`));
  await server?.stop();
}

if (checks.count('failed') > 0) {
  printLogTails({ serverLog, userDataDir, pattern: /exthost.*\.log$/ });
}
checks.summary();
