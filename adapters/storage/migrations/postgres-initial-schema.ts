import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Message store and state store tables for PostgreSQL (same model as the SQLite schema). */
export class PostgresInitialSchema1764100000000 implements MigrationInterface {
  name = 'PostgresInitialSchema1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE messages (
        seq BIGINT PRIMARY KEY,
        enqueued_at BIGINT NOT NULL,
        size INTEGER NOT NULL,
        ref_count INTEGER NOT NULL,
        properties TEXT NOT NULL,
        system_properties TEXT NOT NULL,
        body BYTEA NOT NULL
      )`,
    );
    await queryRunner.query(
      `CREATE TABLE message_queues (
        id SERIAL PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        priority INTEGER NOT NULL,
        checkpoint BIGINT NOT NULL DEFAULT 0,
        UNIQUE (endpoint_id, priority)
      )`,
    );
    await queryRunner.query(
      `CREATE TABLE queue_entries (
        queue_id INTEGER NOT NULL,
        msg_seq BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (queue_id, msg_seq)
      )`,
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
