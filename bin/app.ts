#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addChecks } from './checks';
import { ReferenceApiStack } from './stacks/reference-api-stack';

/**
 * The reference app. Stacks are environment-agnostic and use no context
 * lookups, so `cdk synth` needs no AWS account; `cdk deploy` takes the
 * account and Region from the CLI's credentials.
 */
const app = new App();
new ReferenceApiStack(app, 'ReferenceApi');
addChecks(app);
