#pragma once

// Every advisory lock Funnelhouse takes, each key named once here. The SQL
// that takes one builds its statement from these; the one migration that
// takes a lock itself (funnelhouse_forget in 0006_privacy_and_roles.sql)
// writes the number, and pg.Migrate.LockKeysInTheMigrationsAreTheseOnes
// checks that it is the same.
namespace funnelhouse::db {

// `funnelhouse migrate` (a session lock): one migrating process at a time,
// also while the bookkeeping table is made.
inline constexpr long long kMigrationLock = 7'311'402'118'550'209;
// Loader batches that bring a new identity link or user id: merges of
// persons never interleave.
inline constexpr long long kIdentityLock = 7'311'402'118'550'210;
// Loader batches and reprocess take it shared, erasure exclusively: an
// erasure waits for the batches in flight, and every later batch sees its
// suppression entries.
inline constexpr long long kErasureLock = 7'311'402'118'550'211;
// A model refresh: a second one waits for the first.
inline constexpr long long kModelRefreshLock = 7'311'402'118'550'212;
// Writing the destinations file into PostgreSQL: servers starting at once
// write it one after the other.
inline constexpr long long kDestinationsLock = 7'311'402'118'550'213;
// On Citus, `funnelhouse reprocess` runs take turns, a transaction at a
// time (Citus locks rows of one shard only, so they cannot share the rows
// with FOR UPDATE SKIP LOCKED as on one PostgreSQL).
inline constexpr long long kReprocessLock = 7'311'402'118'550'214;

}  // namespace funnelhouse::db
