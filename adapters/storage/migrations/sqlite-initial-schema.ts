import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Message store and state store tables for SQLite. Queue entries are a WITHOUT ROWID table keyed by
 * (queue, offset) so a queue read is one range scan; offsets are message sequence numbers.
 */
export class SqliteInitialSchema1764100000000 implements MigrationInterface {
  name = 'SqliteInitialSchema1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        enqueued_at INTEGER NOT NULL,
        size INTEGER NOT NULL,
        ref_count INTEGER NOT NULL,
        properties TEXT NOT NULL,
        system_properties TEXT NOT NULL,
        body BLOB NOT NULL
      )`,
    );
    await queryRunner.query(
      `CREATE TABLE message_queues (
        id INTEGER PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        priority INTEGER NOT NULL,
        checkpoint INTEGER NOT NULL DEFAULT 0,
        UNIQUE (endpoint_id, priority)
      )`,
    );
    await queryRunner.query(
      `CREATE TABLE queue_entries (
        queue_id INTEGER NOT NULL,
        msg_seq INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (queue_id, msg_seq)
      ) WITHOUT ROWID`,
    );
    await queryRunner.query(
      `CREATE TABLE state_entries (
        namespace VARCHAR(200) NOT NULL,
        key VARCHAR(400) NOT NULL,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (namespace, key)
      )`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const t of ['state_entries', 'queue_entries', 'message_queues', 'messages']) await queryRunner.query(`DROP TABLE ${t}`);
  }
}
