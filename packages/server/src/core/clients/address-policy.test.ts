import { it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPolicy } from './address-policy.ts';

const policy = new AddressPolicy();

it('refuses loopback, private, link-local, unique-local and metadata addresses, IPv4 and IPv6', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'this-network'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade-nat'],
    ['100.100.100.200', 'carrier-grade-nat'], // Alibaba Cloud metadata
    ['169.254.169.254', 'link-local'], // AWS / GCP / Azure metadata
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'], // AWS metadata over IPv6
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
  ];
  for (const [address, label] of refused) assert.equal(policy.refusal(address), label, address);
});

it('judges IPv4 carried in IPv6 (mapped, compatible, NAT64, 6to4) as that IPv4 address', () => {
  assert.equal(policy.refusal('::ffff:127.0.0.1'), 'loopback');
  assert.equal(policy.refusal('::ffff:7f00:1'), 'loopback');
  assert.equal(policy.refusal('::ffff:169.254.169.254'), 'link-local');
  assert.equal(policy.refusal('0:0:0:0:0:ffff:a00:1'), 'private');
  assert.equal(policy.refusal('::127.0.0.1'), 'loopback (embedded IPv4)');
  assert.equal(policy.refusal('64:ff9b::a9fe:a9fe'), 'link-local (embedded IPv4)');
  assert.equal(policy.refusal('2002:c0a8:101::1'), 'private (embedded IPv4)');
  assert.equal(policy.refusal('2001:0:4136:e378::1'), 'teredo');
  assert.equal(policy.refusal('::ffff:8.8.8.8'), undefined);
  assert.equal(policy.refusal('64:ff9b::808:808'), undefined);
});

it('accepts public addresses and refuses what is not an address', () => {
  for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450::1']) assert.equal(policy.refusal(a), undefined, a);
  assert.equal(policy.refusal('localhost'), 'not-an-ip-address');
  assert.equal(policy.refusal('1.2.3'), 'not-an-ip-address');
});

it('an allow-list of addresses and CIDR ranges opens exceptions, in every form of the address', () => {
  const open = new AddressPolicy(['127.0.0.1', '10.0.0.0/8', 'fd12::/16']);
  assert.equal(open.refusal('127.0.0.1'), undefined);
  assert.equal(open.refusal('::ffff:127.0.0.1'), undefined);
  assert.equal(open.refusal('127.0.0.2'), 'loopback');
  assert.equal(open.refusal('10.200.0.1'), undefined);
  assert.equal(open.refusal('fd12:3::1'), undefined);
  assert.equal(open.refusal('fd13::1'), 'unique-local');
  assert.equal(open.allowed('10.1.1.1'), true);
  assert.equal(open.allowed('8.8.8.8'), false);
  assert.throws(() => new AddressPolicy(['not an address']), /not an IP address/);
  assert.throws(() => new AddressPolicy(['10.0.0.0/33']), /prefix length/);
});
