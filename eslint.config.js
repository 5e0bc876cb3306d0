// ESLint 9 flat config: typescript-eslint's recommended type-checked rules over every TypeScript
// file in tsconfig.json (project service), react-hooks for the browser bundle, and
// eslint-config-prettier last so no rule fights the formatter (`npm run format`).
// `npm run lint` runs it with --max-warnings 0; tools/lint-changed.sh lints only changed files.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'bench/results/**', 'data/**', '.data/**', 'test-artifacts/**', 'coverage/**'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Off: the code base writes `xs[i]!` / `map.get(k)!` where an index may be out of range
      // (the noUncheckedIndexedAccess habit) although tsconfig does not turn that flag on, so the
      // rule calls ~970 of them unnecessary. They are harmless and become necessary the day the
      // flag is on; removing them would touch a thousand lines in every folder.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Off: an `async` function without `await` is how this code implements Promise-returning
      // interfaces (aedes persistence, Fastify plugins and hooks, store backends) so that a throw
      // becomes a rejection; dropping `async` would turn those into synchronous throws.
      '@typescript-eslint/require-await': 'off',
      // React: `onClick={async () => ...}` is how the console starts an action; a handler's
      // returned promise is ignored by React by design. Arguments and other places still checked.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      // `_`-prefixed names are deliberately unused (positional callback parameters, rest omits).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `cond ? a() : b()` and `x && f()` as statements are this code's idiom for a two-way call.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
    },
  },
  {
    // Tests read response bodies and JSON files as `any` (`await res.json()`, `JSON.parse`, parsed XML) and
    // the expect() assertions that follow are the type check; typing every body would only restate
    // the assertion. Production code keeps these rules.
    files: ['**/*.test.ts', '**/*.test.tsx', 'testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['ops-console/web/**/*.ts', 'ops-console/web/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
    },
  },
  {
    // Plain JavaScript: this config, Node-RED's settings (CommonJS).
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    // Node-RED function-node bodies (dashboards/flows.test.ts and dashboards/build inline them into
    // flows.json): a script with a top-level `return` and Node-RED's sandbox globals.
    files: ['dashboards/functions/*.js'],
    languageOptions: {
      sourceType: 'script',
      parserOptions: { ecmaFeatures: { globalReturn: true } },
      globals: {
        msg: 'writable',
        node: 'readonly',
        env: 'readonly',
        global: 'readonly',
        flow: 'readonly',
        context: 'readonly',
        RED: 'readonly',
        util: 'readonly',
      },
    },
  },
  prettier,
);
