import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: join(__dirname, '..', '..') });

async function restrictedImportErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

test('src/engine may not import vscode', async () => {
  const errors = await restrictedImportErrors(
    'src/engine/probe.ts',
    "import * as vscode from 'vscode';\nvoid vscode;\n",
  );
  assert.equal(errors.length, 1);
});

test('src/engine may not import the layers above it', async () => {
  for (const layer of ['extension/state', 'service/protocol', 'cli/errors', 'models/catalog']) {
    const errors = await restrictedImportErrors(
      'src/engine/probe.ts',
      `import * as x from '../${layer}';\nvoid x;\n`,
    );
    assert.equal(errors.length, 1, layer);
  }
});

test('Node-side layers may not import vscode, src/extension may', async () => {
  for (const layer of ['convert', 'models', 'transcript', 'service', 'cli']) {
    const errors = await restrictedImportErrors(
      `src/${layer}/probe.ts`,
      "import * as vscode from 'vscode';\nvoid vscode;\n",
    );
    assert.equal(errors.length, 1, layer);
  }
  assert.deepEqual(
    await restrictedImportErrors(
      'src/extension/probe.ts',
      "import * as vscode from 'vscode';\nvoid vscode;\n",
    ),
    [],
  );
});
