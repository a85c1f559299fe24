-- One call of each api function a route or job runs (autoexplain.sql runs this seven times).
select api.concert_list(:'now');
select api.concert_dates(:'token_active', 1, :'now');
select api.seat_list(:'token_active', 1, :hot_date, :'now');
select api.queue_status(:'token_front', :'now');
select api.queue_status(:'token_back', :'now');
select (api.queue_join(:new_user, 1, :'now')).body;
select (api.seat_hold(:'token_active', 1, :hot_date, :free_seat, as_of => :'now')).body ->> 'reservationId' as reservation_id \gset
select api.balance_charge(:'token_active', 50000, as_of => :'now');
select api.payment_create(:'token_active', :reservation_id, as_of => :'now');
select api.balance_history(:'token_user1', 50, :'now');
select api.payment_list(:'token_user1', :'now');
select api.holds_expire(:'now');
select api.tokens_expire(:'now');
select api.queue_admit(:'now');
select api.outbox_dispatch(500);
