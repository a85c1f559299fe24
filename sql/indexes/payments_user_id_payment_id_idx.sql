-- Serves api.payment_list (a user's payments, newest first). Expected plan
-- once payments are many:
--   Sort (payment_id desc, a handful of rows)
--     -> Nested Loop
--          -> Index Scan using payments_user_id_payment_id_idx on payments p
--               Index Cond: (user_id = $1)
--          -> Index Scan using reservations_pkey on reservations r
-- Also covers the foreign key payments_user_id_fkey.
create index concurrently if not exists payments_user_id_payment_id_idx on app.payments (user_id, payment_id);
