#!/usr/bin/env node
console.log('tfmirror');
