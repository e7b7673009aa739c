package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// State keeps the services' sessions and per-phone rate limits: in the database, or in Redis
// when Redis is set (IBIKI_REDIS_URL), so that several instances share them without the
// database's writes. The jobs of one phone with one service run one at a time (their order
// key), so a session is read and written by one job at a time on either backend.
type State struct {
	Store *store.Store
	Redis *redis.Client
}

// Backend names where the state is kept: "database" or "redis".
func (s *State) Backend() string {
	if s.Redis != nil {
		return "redis"
	}
	return "database"
}

func sessionKey(serviceID, phone string) string {
	return "ibiki:svc:session:" + serviceID + ":" + phone
}
func bucketKey(serviceID, phone string) string { return "ibiki:svc:bucket:" + serviceID + ":" + phone }

// activeKey is Redis's sorted set of sessions by expiry (ms): the active-sessions gauge.
const activeKey = "ibiki:svc:sessions"

// Load returns the phone's session with the service, nil when there is none or it expired at
// now (an expired session ends quietly). msgID is the message about to be handled: a session
// that message already wrote (a run of it again, Redis) is read as the one before it.
func (s *State) Load(ctx context.Context, serviceID, phone, msgID string, now time.Time) (*model.ServiceSession, error) {
	if s.Redis == nil {
		sess, ok, err := s.Store.ServiceSession(ctx, serviceID, phone, now)
		if err != nil || !ok {
			return nil, err
		}
		return &sess, nil
	}
	b, err := s.Redis.Get(ctx, sessionKey(serviceID, phone)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis: session: %w", err)
	}
	var stored model.ServiceSession
	if err := json.Unmarshal(b, &stored); err != nil {
		return nil, fmt.Errorf("redis: session %s/%s: %w", serviceID, phone, err)
	}
	sess := &stored
	if stored.By == msgID {
		sess = stored.Prev
	} else if stored.Ended {
		sess = nil
	}
	if sess == nil || !sess.ExpiresAt.After(now) {
		return nil, nil
	}
	out := *sess
	out.By, out.Prev, out.Ended = "", nil, false
	return &out, nil
}

// SaveTx writes a session change in the transaction of the exchange (the database backend); nil
// ends the session. With Redis it does nothing: SaveFirst wrote before the transaction.
func (s *State) SaveTx(ctx context.Context, tx *store.Tx, serviceID, phone string, prev, sess *model.ServiceSession) error {
	if s.Redis != nil || (prev == nil && sess == nil) {
		return nil
	}
	if sess == nil {
		return tx.EndServiceSession(ctx, serviceID, phone)
	}
	return tx.PutServiceSession(ctx, *sess)
}

// SaveFirst writes a session change to Redis before the exchange's transaction (with the
// database SaveTx does, inside it): marked as msgID's, with the session before it, so that a
// run of the same message again (its transaction failed, or the process died) starts from the
// session it started from. The phone's next message runs only once this exchange committed (the
// jobs' order key), after this write. An ended session stays as a marker for as long.
func (s *State) SaveFirst(ctx context.Context, serviceID, phone, msgID string, prev, sess *model.ServiceSession, now time.Time) error {
	if s.Redis == nil || (prev == nil && sess == nil) {
		return nil
	}
	key, member := sessionKey(serviceID, phone), serviceID+":"+phone
	v := model.ServiceSession{ServiceID: serviceID, Phone: phone, Ended: true, ExpiresAt: now.Add(endedMarker)}
	if sess != nil {
		v = *sess
	}
	v.By, v.Prev = msgID, prev
	if prev != nil {
		p := *prev
		p.By, p.Prev, p.Ended = "", nil, false
		v.Prev = &p
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ttl := max(v.ExpiresAt.Sub(now), endedMarker)
	_, err = s.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, key, b, ttl)
		if sess == nil {
			p.ZRem(ctx, activeKey, member)
		} else {
			p.ZAdd(ctx, activeKey, redis.Z{Score: float64(sess.ExpiresAt.UnixMilli()), Member: member})
		}
		// Expired members leave the gauge's set here too, so that it stays small unscraped.
		p.ZRemRangeByScore(ctx, activeKey, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: save session: %w", err)
	}
	return nil
}

// endedMarker is how long Redis keeps a session's end (and at least a session) for a run of
// the same message again.
const endedMarker = 10 * time.Minute

// Active counts the sessions not expired at now.
func (s *State) Active(ctx context.Context, now time.Time) (int64, error) {
	if s.Redis == nil {
		return s.Store.ActiveServiceSessions(ctx, now)
	}
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	if err := s.Redis.ZRemRangeByScore(ctx, activeKey, "-inf", ms).Err(); err != nil {
		return 0, err
	}
	return s.Redis.ZCard(ctx, activeKey).Result()
}

// Take spends one of the phone's tokens of a service's rate limit at now: ok false is over the
// limit. With the database, write (when not nil) stores the bucket in the exchange's
// transaction; Redis spends the token at once, atomically.
func (s *State) Take(ctx context.Context, svc model.Service, phone string, now time.Time) (ok bool, write func(context.Context, *store.Tx) error, err error) {
	lim := svc.Spec.RateLimit
	if lim == nil {
		return true, nil, nil
	}
	perMS := lim.PerMinute / 60000
	if s.Redis != nil {
		refill := int64(math.Ceil(float64(lim.Burst)/perMS)) + 1000
		n, err := takeScript.Run(ctx, s.Redis, []string{bucketKey(svc.ID, phone)}, perMS, lim.Burst, now.UnixMilli(), refill).Int()
		if err != nil {
			return false, nil, fmt.Errorf("redis: rate limit: %w", err)
		}
		return n == 1, nil, nil
	}
	tokens, at, found, err := s.Store.ServiceBucket(ctx, svc.ID, phone)
	if err != nil {
		return false, nil, err
	}
	tokens = refill(tokens, at, found, float64(lim.Burst), perMS, now)
	ok = tokens >= 1
	if ok {
		tokens--
	}
	return ok, func(ctx context.Context, tx *store.Tx) error {
		return tx.PutServiceBucket(ctx, svc.ID, phone, tokens, now)
	}, nil
}

// refill is a bucket's tokens at now: burst when new, else what it had plus what the time since
// gave back, at most burst.
func refill(tokens float64, at time.Time, found bool, burst, perMS float64, now time.Time) float64 {
	if !found {
		return burst
	}
	if d := now.Sub(at); d > 0 {
		tokens += float64(d.Milliseconds()) * perMS
	}
	return min(tokens, burst)
}

// takeScript is the token bucket in Redis: one atomic step per message.
var takeScript = redis.NewScript(`
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local perms, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens, at = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, at = burst, now end
if now > at then tokens = math.min(burst, tokens + (now - at) * perms) end
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return ok
`)
