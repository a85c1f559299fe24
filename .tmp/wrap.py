import re,sys
fn=r'(tests\.setting|app\.(concert_list|concert_dates|seat_list|reservation_get|reservation_cancel|seat_hold|holds_expire|balance_get|balance_charge|balance_history|job_runs_prune))\('
for p in sys.argv[1:]:
    lines=open(p).read().split('\n')
    out=[];role=False;i=0
    while i<len(lines):
        l=lines[i]
        if re.match(r'\s*set local role boxoffice_api',l): role=True
        if re.match(r'\s*reset role',l): role=False
        if role and re.search(fn,l) and not l.startswith('--'):
            # statement start: walk back to the line that starts the statement in out
            j=len(out)
            while j>0 and not out[j-1].rstrip().endswith(';') and not re.search(r'\\g',out[j-1]) and out[j-1].strip()!='' :
                j-=1
            stmt=out[j:]; del out[j:]
            k=i
            while not (lines[k].rstrip().endswith(';') or re.search(r'\\g',lines[k])): k+=1
            out.append('reset role;  -- app.* (the clock) is for tests, not for boxoffice_api')
            out+=stmt+lines[i:k+1]
            out.append('set local role boxoffice_api;')
            i=k+1; continue
        out.append(l); i+=1
    open(p,'w').write('\n'.join(out))
