import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: globals.node,
    },
  },
  {
    // Only src/nats/ may talk to the NATS client; everything else goes through its functions.
    files: ['src/**/*.ts'],
    ignores: ['src/nats/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'nats', message: 'Only src/nats/ imports the NATS client.' }],
          patterns: [{ regex: '^@nats-io/', message: 'Only src/nats/ imports the NATS client.' }],
        },
      ],
    },
  },
);
