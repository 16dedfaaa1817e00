/* eslint-env node */
module.exports = {
  root: true,
  parser: '@typescript-eslint/parser',
  parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: __dirname, sourceType: 'module' },
  plugins: ['@typescript-eslint', 'n'],
  extends: [
    'eslint:recommended',
    'plugin:@typescript-eslint/recommended-type-checked',
  ],
  ignorePatterns: ['dist/', 'node_modules/', 'bin/', '*.cjs', '*.js', 'test/e2e/agents/'],
  rules: {
    eqeqeq: ['error', 'always'],
    'n/no-process-exit': 'error',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    '@typescript-eslint/consistent-type-imports': 'error',
  },
  overrides: [
    {
      files: ['src/cli/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
      rules: { 'n/no-process-exit': 'off' },
    },
    {
      files: ['src/commands/**/*.ts'],
      rules: {
        'no-restricted-imports': ['error', {
          paths: ['node:crypto', 'crypto', 'node:net', 'net', 'node:tls', 'tls'].map((name) => ({
            name, message: 'Commands stay thin: crypto and sockets live in the library (src/crypto, src/proxy).',
          })),
        }],
      },
    },
    {
      files: ['test/**/*.ts', 'bench/**/*.ts'],
      rules: {
        '@typescript-eslint/no-unsafe-assignment': 'off',
        '@typescript-eslint/no-unsafe-member-access': 'off',
        '@typescript-eslint/no-unsafe-argument': 'off',
        '@typescript-eslint/no-unsafe-call': 'off',
        '@typescript-eslint/no-unsafe-return': 'off',
      },
    },
  ],
};
