-- api.queue_join: POST /api/queue/tokens, a new user each time (a new ticket, 201)
select q.status from api.queue_join(nextval('bench.join_seq'), :join_concert) q;
