//! A server core and a client core joined by an in-memory network with a fixed latency.
//!
//! Everything either side asks for becomes a delivery due `latency` later; [`Pair::step`]
//! performs the earliest delivery or, when none is due, jumps time to the earliest deadline of
//! either side. Minutes of protocol time run in microseconds, deterministically.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engineio_core::{
    Bytes, Client, ClientConfig, ClientEvent, ClientTransmit, Event, Request, RequestId, Server,
    ServerConfig, Transmit,
};

/// One thing in flight on the simulated network.
#[derive(Debug)]
enum Delivery {
    /// A client transmit reaching the server.
    ToServer(ClientTransmit),
    /// A server transmit reaching the client.
    ToClient(Transmit),
}

pub struct Pair {
    pub server: Server,
    pub client: Client,
    pub now: Instant,
    pub latency: Duration,
    /// When false, nothing is delivered in either direction (a vanished peer).
    pub network_up: bool,
    in_flight: VecDeque<(Instant, Delivery)>,
    next_server_id: u64,
    client_to_server: HashMap<RequestId, RequestId>,
    server_to_client: HashMap<RequestId, RequestId>,
    post_bodies: HashMap<RequestId, Bytes>,
    sockets: HashSet<RequestId>,
    /// Client ids of the WebSocket opens, so that a refused one is reported as a closed socket.
    ws_requests: HashSet<RequestId>,
    pub server_events: Vec<Event>,
    pub client_events: Vec<ClientEvent>,
}

impl Pair {
    #[allow(clippy::disallowed_methods)]
    pub fn new(server: ServerConfig, client: ClientConfig) -> Self {
        let now = Instant::now();
        let mut pair = Self {
            server: Server::new(Arc::new(server), [9; 32]),
            client: Client::new(now, client),
            now,
            latency: Duration::from_millis(5),
            network_up: true,
            in_flight: VecDeque::new(),
            next_server_id: 1000,
            client_to_server: HashMap::new(),
            server_to_client: HashMap::new(),
            post_bodies: HashMap::new(),
            sockets: HashSet::new(),
            ws_requests: HashSet::new(),
            server_events: Vec::new(),
            client_events: Vec::new(),
        };
        pair.collect();
        pair
    }

    /// Moves every output of both sides onto the network and into the event logs.
    pub fn collect(&mut self) {
        let due = self.now + self.latency;
        while let Some(transmit) = self.client.poll_transmit() {
            if self.network_up {
                self.in_flight
                    .push_back((due, Delivery::ToServer(transmit)));
            }
        }
        while let Some(transmit) = self.server.poll_transmit() {
            if self.network_up {
                self.in_flight
                    .push_back((due, Delivery::ToClient(transmit)));
            }
        }
        self.client_events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
        self.server_events
            .extend(std::iter::from_fn(|| self.server.poll_event()));
        if self.server.session_count() > 0 {
            assert!(self.server.poll_timeout().is_some());
        }
    }

    /// Performs one delivery or one timer jump; returns false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        let next_delivery = self.in_flight.front().map(|(due, _)| *due);
        let next_timer = [self.server.poll_timeout(), self.client.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let deliver_first = match (next_delivery, next_timer) {
            (Some(due), Some(timer)) => due <= timer,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return false,
        };
        if deliver_first {
            let (due, delivery) = self.in_flight.pop_front().expect("a delivery is due");
            self.now = self.now.max(due);
            self.deliver(delivery);
        } else {
            self.now = self.now.max(next_timer.expect("a timer is due"));
            self.server.handle_timeout(self.now);
            self.client.handle_timeout(self.now);
        }
        self.collect();
        true
    }

    /// Steps until `done` holds, failing after `max_steps` (a livelock guard).
    pub fn drive_until(&mut self, mut done: impl FnMut(&Self) -> bool, max_steps: usize) {
        for _ in 0..max_steps {
            if done(self) {
                return;
            }
            if !self.step() {
                break;
            }
        }
        assert!(
            done(self),
            "condition not reached in {max_steps} steps at {:?}",
            self.client_events
        );
    }

    /// Steps until simulated time has moved `by` (deliveries included).
    pub fn run_for(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            let next_delivery = self.in_flight.front().map(|(due, _)| *due);
            let next_timer = [self.server.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let next = [next_delivery, next_timer].into_iter().flatten().min();
            match next {
                Some(at) if at <= end => {
                    self.step();
                }
                _ => break,
            }
        }
        self.now = end;
    }

    fn server_id(&mut self, client_id: RequestId) -> RequestId {
        self.next_server_id += 1;
        let id = RequestId(self.next_server_id);
        self.client_to_server.insert(client_id, id);
        self.server_to_client.insert(id, client_id);
        id
    }

    fn deliver(&mut self, delivery: Delivery) {
        let now = self.now;
        match delivery {
            Delivery::ToServer(transmit) => match transmit {
                ClientTransmit::Get { request, query } => {
                    let id = self.server_id(request);
                    self.server.handle_request(now, id, Request::get(&query));
                }
                ClientTransmit::Post {
                    request,
                    query,
                    body,
                } => {
                    let id = self.server_id(request);
                    let head = Request {
                        content_type: Some("text/plain;charset=UTF-8"),
                        content_length: Some(body.len() as u64),
                        ..Request::post(&query)
                    };
                    self.post_bodies.insert(id, body);
                    self.server.handle_request(now, id, head);
                }
                ClientTransmit::OpenWebSocket { socket, query } => {
                    self.ws_requests.insert(socket);
                    let id = self.server_id(socket);
                    self.server
                        .handle_request(now, id, Request::websocket(&query));
                }
                ClientTransmit::WsSend { socket, frames } => {
                    if let Some(&id) = self.client_to_server.get(&socket) {
                        for frame in frames {
                            self.server.handle_ws_frame(now, id, frame);
                        }
                    }
                    self.client.handle_ws_written(now, socket);
                }
                ClientTransmit::WsClose { socket } => {
                    if let Some(&id) = self.client_to_server.get(&socket) {
                        if self.sockets.remove(&id) {
                            self.server.handle_ws_closed(now, id);
                        }
                    }
                    self.client.handle_ws_closed(now, socket);
                }
                ClientTransmit::Abort { request } => {
                    if let Some(&id) = self.client_to_server.get(&request) {
                        self.server.handle_request_closed(now, id);
                    }
                }
            },
            Delivery::ToClient(transmit) => match transmit {
                Transmit::Respond { request, response } => {
                    let client_id = self.server_to_client[&request];
                    if self.ws_requests.contains(&client_id) {
                        self.client.handle_ws_closed(now, client_id);
                    } else {
                        self.client
                            .handle_response(now, client_id, response.status, response.body);
                    }
                }
                Transmit::ReadBody { request } => {
                    let body = self.post_bodies.remove(&request).unwrap_or_default();
                    if !body.is_empty() {
                        self.server.handle_body(now, request, body);
                    }
                    self.server.handle_body_end(now, request);
                }
                Transmit::AcceptWebSocket { request } => {
                    self.sockets.insert(request);
                    self.client
                        .handle_ws_open(now, self.server_to_client[&request]);
                }
                Transmit::WsSend { socket, frames } => {
                    let client_id = self.server_to_client[&socket];
                    for frame in frames {
                        self.client.handle_ws_frame(now, client_id, frame);
                    }
                    self.server.handle_ws_written(now, socket);
                }
                Transmit::WsClose { socket, .. } => {
                    if self.sockets.remove(&socket) {
                        self.client
                            .handle_ws_closed(now, self.server_to_client[&socket]);
                    }
                }
            },
        }
    }

    /// Sends a message from the client.
    pub fn client_send(&mut self, message: impl Into<engineio_core::Message>) {
        self.client
            .send(self.now, message.into())
            .expect("client send");
        self.collect();
    }

    /// Messages the server received, in order.
    pub fn server_messages(&self) -> Vec<engineio_core::Message> {
        self.server_events
            .iter()
            .filter_map(|event| match event {
                Event::Message { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    /// Messages the client received, in order.
    pub fn client_messages(&self) -> Vec<engineio_core::Message> {
        self.client_events
            .iter()
            .filter_map(|event| match event {
                ClientEvent::Message(message) => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    /// The session id the server gave the client.
    pub fn sid(&self) -> engineio_core::Sid {
        self.server_events
            .iter()
            .find_map(|event| match event {
                Event::Connected { sid, .. } => Some(*sid),
                _ => None,
            })
            .expect("connected")
    }

    pub fn server_send(&mut self, message: impl Into<engineio_core::Message>) {
        let sid = self.sid();
        self.server
            .send(self.now, &sid, message)
            .expect("server send");
        self.collect();
    }
}
