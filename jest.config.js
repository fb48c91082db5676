const fs = require('fs');
const path = require('path');

// Keep every temporary cloud assembly inside the project (and out of the system temp folder).
const tmp = path.join(__dirname, '.tmp');
fs.mkdirSync(tmp, { recursive: true });
process.env.TMPDIR = tmp;

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // Installs the database servers (apt) once, before any worker starts.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 120000,
  // Many suites wait on child processes (synths, database servers, npm): three workers keep two
  // cores busy, where jest's default (cores - 1) leaves one idle.
  maxWorkers: 3,
};
