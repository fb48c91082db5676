#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildReferenceApp } from './reference-app';

/**
 * The reference app. Stacks are environment-agnostic and use no context
 * lookups, so `cdk synth` needs no AWS account; `cdk deploy` takes the
 * account and Region from the CLI's credentials. `-c stage=<name>` deploys a
 * second copy beside the first (stack names end in `-<name>`).
 */
const app = new App();
buildReferenceApp(app, { stage: app.node.tryGetContext('stage') });
