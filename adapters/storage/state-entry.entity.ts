import 'reflect-metadata';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One JSON document of the key-value state store (twins, identities, module state). */
@Entity({ name: 'state_entries' })
export class StateEntryEntity {
  @PrimaryColumn({ type: 'varchar', length: 200 })
  namespace!: string;

  @PrimaryColumn({ type: 'varchar', length: 400 })
  key!: string;

  @Column({ type: 'text' })
  value!: string;

  @Column({ name: 'updated_at', type: 'bigint' })
  updatedAt!: string | number;
}
