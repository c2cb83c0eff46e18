import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactUrl } from './logger.ts';

test('redactUrl hides passwords, NATS tokens and secret query parameters, and keeps the rest', () => {
  assert.equal(redactUrl('postgres://mw:s3cret@db:5432/prod?sslmode=require'), 'postgres://mw:***@db:5432/prod?sslmode=require');
  assert.equal(redactUrl('mysql://root@127.0.0.1:3306/test'), 'mysql://root@127.0.0.1:3306/test', 'a user alone is no secret');
  assert.equal(redactUrl('nats://tok3n@a:4222,b:4222?partitions=4'), 'nats://***@a:4222,b:4222?partitions=4', 'a NATS token is');
  assert.equal(redactUrl('nats://u:p@a:4222'), 'nats://u:***@a:4222');
  assert.equal(redactUrl('kafka://u:p%40ss@k1:9092,k2:9092?sasl=plain'), 'kafka://u:***@k1:9092,k2:9092?sasl=plain');
  assert.equal(redactUrl('postgres://h/db?password=x&apiKey=y&pool=3'), 'postgres://h/db?password=***&apiKey=***&pool=3');
  assert.equal(redactUrl('sqlite:///tmp/a.db'), 'sqlite:///tmp/a.db');
});
