import { Migration } from '@mikro-orm/migrations';

/**
 * Handing a released slot straight to the next caller of the same process, in one statement.
 *
 * Without it, every model call costs two statements between an answer and the next call in that
 * slot: `assay_llm_release`, then the waiting caller's `assay_llm_acquire` (see
 * llm-migrations.ts); at 32 calls of 0.2 s in flight that gap was most of the governor's cost.
 *
 * - `assay_llm_release_to(key, slot, holder, token_delta, notify, next_holder, next_tokens,
 *   next_lease_ms)` settles the finished call's tokens as a release does, then gives the slot to
 *   `next_holder` when everything an acquire checks allows it: no pause, room in the buckets
 *   (charged for the next call), and the process's fair share. Otherwise it releases the slot (and
 *   NOTIFYs). Returns whether the slot was handed over. A call that sets a pause (a Retry-After)
 *   is released with `assay_llm_release`: nothing is handed over during a pause anyway.
 * - Fair share: of the processes holding slots of the key or waiting for one, each may keep
 *   `max_concurrency / their number` (rounded up) by handing over; past that, its slots go back
 *   to everyone. Waiting processes are those that found no free slot within the last 2 s: the
 *   acquire loop records that in `llm_waiting` (`assay_llm_waiting`).
 *
 * A process is the holder id without its last `:`-separated part (RateGovernor's process token).
 */
export class Migration20261202LlmHandover extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create unlogged table llm_waiting (
        governor_key  text not null references llm_governors (governor_key) on delete cascade,
        process       text not null,
        until         timestamptz not null,
        primary key (governor_key, process)
      );

      create function assay_llm_waiting(p_key text, p_process text)
      returns void language plpgsql as $fn$
      begin
        perform set_config('synchronous_commit', 'off', true);
        insert into llm_waiting (governor_key, process, until)
        values (p_key, p_process, clock_timestamp() + interval '2 seconds')
        on conflict (governor_key, process) do update set until = excluded.until;
      end
      $fn$;

      create function assay_llm_release_to(
        p_key text, p_slot int, p_holder text, p_token_delta double precision, p_notify text,
        p_next_holder text, p_next_tokens double precision, p_next_lease_ms int)
      returns boolean language plpgsql as $fn$
      declare
        g        llm_governors%rowtype;
        t        timestamptz;
        me       text := regexp_replace(p_holder, ':[^:]*$', '');
        mine     int;
        others   int;
        elapsed  double precision;
        req      double precision;
        tok      double precision;
        handed   boolean := false;
      begin
        perform set_config('synchronous_commit', 'off', true);
        select * into g from llm_governors where governor_key = p_key for update;
        if not found then
          return false; -- emptied by a crash: the slot is gone with it; the next acquire configures again
        end if;
        t := clock_timestamp();
        -- What the finished call used, exactly as assay_llm_release.
        if g.tpm is not null then g.token_allowance := g.token_allowance - p_token_delta; end if;

        if g.not_before <= t then
          select count(*) into mine from llm_slots
           where governor_key = p_key and holder is not null and lease_until >= t and regexp_replace(holder, ':[^:]*$', '') = me;
          select count(*) into others from (
            select regexp_replace(holder, ':[^:]*$', '') as process from llm_slots
             where governor_key = p_key and holder is not null and lease_until >= t
            union
            select process from llm_waiting where governor_key = p_key and until > t
          ) p where p.process <> me;
          elapsed := greatest(0, extract(epoch from (t - g.refilled_at)));
          if g.rpm is not null then req := least(greatest(1, g.rpm / 60), g.request_allowance + elapsed * g.rpm / 60); end if;
          if g.tpm is not null then tok := least(greatest(1, g.tpm / 60), g.token_allowance + elapsed * g.tpm / 60); end if;
          if mine <= ceil(g.max_concurrency::double precision / (others + 1))
             and p_slot <= g.max_concurrency
             and (req is null or req >= 1) and (tok is null or tok > 0) then
            update llm_slots
               set holder = p_next_holder, lease_until = t + make_interval(secs => p_next_lease_ms / 1000.0), acquired_at = t
             where governor_key = p_key and slot = p_slot and holder = p_holder;
            handed := found;
          end if;
          if handed and (req is not null or tok is not null) then
            g.request_allowance := coalesce(req - 1, g.request_allowance);
            g.token_allowance := coalesce(tok - p_next_tokens, g.token_allowance);
            g.refilled_at := t;
          end if;
        end if;

        update llm_governors
           set token_allowance = g.token_allowance, request_allowance = g.request_allowance, refilled_at = g.refilled_at
         where governor_key = p_key;
        if not handed then
          update llm_slots set holder = null, lease_until = null, acquired_at = null
           where governor_key = p_key and slot = p_slot and holder = p_holder;
          perform pg_notify('assay_llm_released', p_notify);
        end if;
        return handed;
      end
      $fn$;
    `);
  }
}
