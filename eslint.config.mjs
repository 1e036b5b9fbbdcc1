// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Everything outside src/extension and webview runs in plain Node (engine host, CLI, tests). */
const nodeOnly = [
  'src/engine/**',
  'src/convert/**',
  'src/models/**',
  'src/transcript/**',
  'src/service/**',
  'src/dictation/**',
  'src/cli/**',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'test/fixtures/**', 'out/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        performance: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        fetch: 'readonly',
        window: 'readonly',
        document: 'readonly',
        navigator: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The layering rule: the speech runtime and everything it is built from never touch the VS Code API,
    // and never reach up into the extension or the webview.
    files: nodeOnly,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'Only src/extension may import vscode.' }],
          patterns: [
            {
              group: ['**/extension/**', '**/extension'],
              message: 'Node-side code must not depend on src/extension.',
            },
            { group: ['**/webview/**'], message: 'Node-side code must not depend on the webview.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/engine/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'src/engine is pure Node: it never imports vscode.' }],
          patterns: [
            {
              group: ['**/extension/**', '**/service/**', '**/cli/**', '**/webview/**', '**/models/**'],
              message: 'src/engine sits at the bottom: it imports nothing from the layers above it.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['webview/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'vscode',
              message: 'The webview runs in a browser: talk to the extension with messages.',
            },
          ],
          patterns: [
            {
              group: ['**/engine/**', '**/service/**', '**/extension/**', 'node:*'],
              message: 'The webview is browser code.',
            },
          ],
        },
      ],
    },
  },
);
