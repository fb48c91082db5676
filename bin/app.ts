#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildReferenceApp } from './reference-app';

/**
 * The reference app. Stacks are environment-agnostic and use no context
 * lookups, so `cdk synth` needs no AWS account; `cdk deploy` takes the
 * account and Region from the CLI's credentials.
 */
buildReferenceApp(new App());
