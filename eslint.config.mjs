// ESLint's recommended rules and typescript-eslint's (syntax only: no type information, so linting takes seconds).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
// Formatting is Prettier's (npm run format); this turns off the rules that would argue with it.
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'reports/**', 'coverage/**', 'src/client/openapi-types.ts', '.test-build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a parameter a signature needs but the body does not (Express error handlers).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Sanitisers and parsers match control characters on purpose.
      'no-control-regex': 'off',
      // ESM-only packages are loaded with require() from our CommonJS build (Node >= 20.19), typed by a type import.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['^@mistralai/mistralai$', '^@qdrant/js-client-rest$', '^js-yaml$'] }],
    },
  },
  {
    // Tests, benchmarks and scripts read JSON answers whose shape they assert or print.
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
